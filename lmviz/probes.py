"""What pages and the CLI ask of a Run: a text's trace, and measures to correlate units with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lmviz.device import exact_float32
from lmviz.models import Trace, max_trace_length
from lmviz.run import DIVERGED, Run, weights_on
from lmviz.tokenizers import Encoding

MAX_TRACE_CHARS = 2_000


class ProbeError(ValueError):
    """A text that cannot be traced; the message is for the user."""


@dataclass(frozen=True)
class TextTrace:
    text: str  # the part of the input that was traced
    encoding: Encoding
    trace: Trace
    truncated: bool  # the text was longer than the model's context (kept the end)

    @property
    def tokens(self) -> list[str]:
        return self.encoding.pieces

    def to_json(self) -> dict:
        """The CLI's `trace --json` contract."""
        out: dict = {"text": self.text, "ids": self.trace.ids, "tokens": self.tokens,
                     "truncated": self.truncated}
        if self.trace.layers:
            out["layers"] = [{name: values.tolist() for name, values in layer.items()}
                             for layer in self.trace.layers]
        if self.trace.attention is not None:
            out["attention"] = self.trace.attention.tolist()
        return out


def trace_text(run: Run, text: str, device: torch.device | None = None) -> TextTrace:
    """Trace `text` with the run's weights; texts longer than the GPT's context keep their end."""
    if not run.usable:
        raise ProbeError(DIVERGED)
    if not text:
        raise ProbeError("the text is empty: type a few words")
    if len(text) > MAX_TRACE_CHARS:
        raise ProbeError(f"the text is {len(text):,} characters; traces take at most {MAX_TRACE_CHARS:,}")
    encoding = run.tokenizer.encode(text)
    limit = max_trace_length(run.model_config)
    truncated = limit is not None and len(encoding.ids) > limit
    if truncated:
        start = encoding.offsets[-limit][0]
        text = text[start:]
        encoding = run.tokenizer.encode(text)
        if len(encoding.ids) > limit:  # a merge across the cut can change counts: trim the rest
            cut = len(encoding.ids) - limit
            start = encoding.offsets[cut][0]
            text = text[start:]  # the text its tokens cover, and where its <unk> tokens stay
            encoding = Encoding(encoding.ids[cut:], encoding.pieces[cut:],
                                [(a - start, b - start) for a, b in encoding.offsets[cut:]],
                                [i - cut for i in encoding.unknown if i >= cut])
    model = weights_on(run, device or torch.device("cpu"))
    with exact_float32():  # a GPU's trace equals the CPU's
        return TextTrace(text, encoding, model.trace(encoding.ids), truncated)


def embedding_weights(run: Run) -> tuple[np.ndarray, np.ndarray | None]:
    """Copies of the run's token embeddings (V, E) and, for the GPT, its positions (context, width)."""
    tokens = run.model.embedding.weight.detach().float().cpu().numpy().copy()
    position = getattr(run.model, "position", None)
    positions = None if position is None else position.weight.detach().float().cpu().numpy().copy()
    return tokens, positions


def bracket_depth(text: str, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Nesting depth of (), [], {} after each token (counted by characters, so any tokenizer works)."""
    depth_after = np.zeros(len(text) + 1)
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        depth_after[i + 1] = depth
    return np.array([depth_after[end] for _, end in offsets], dtype=np.float64)


def position_in_word(text: str, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Characters since the last non-letter, at each token's end (0 on spaces and punctuation)."""
    run_length = np.zeros(len(text) + 1)
    count = 0
    for i, ch in enumerate(text):
        count = count + 1 if ch.isalpha() else 0
        run_length[i + 1] = count
    return np.array([run_length[end] for _, end in offsets], dtype=np.float64)


MEASURES = {"bracket depth": bracket_depth, "position in word": position_in_word}


def correlated_units(values: np.ndarray, measure: np.ndarray, top: int = 5) -> list[tuple[int, float]]:
    """Units (columns of values, (T, H)) whose activation correlates most with `measure`, by |r|."""
    if values.shape[0] < 3 or np.std(measure) == 0:
        return []
    centered = values - values.mean(axis=0)
    target = measure - measure.mean()
    denom = np.linalg.norm(centered, axis=0) * np.linalg.norm(target)
    r = np.where(denom > 0, centered.T @ target / np.maximum(denom, 1e-12), 0.0)
    order = np.argsort(-np.abs(r), kind="stable")[:top]
    return [(int(u), float(r[u])) for u in order]
