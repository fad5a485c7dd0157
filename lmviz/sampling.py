"""Next-token distributions and seeded generation, one step at a time.

Randomness comes from a seeded NumPy generator on the CPU, so a seed gives the same text whatever
device computed the logits (up to float rounding of the probabilities).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from lmviz.device import exact_float32
from lmviz.models import LanguageModel
from lmviz.tokenizers import Tokenizer

MAX_TEMPERATURE = 100.0


class SamplingError(ValueError):
    """Sampling settings out of range; the message is for the user."""


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0  # 0 means greedy (argmax)
    top_k: int = 0  # 0 keeps every token
    top_p: float = 1.0  # 1 keeps every token

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and 0.0 <= self.temperature <= MAX_TEMPERATURE):
            raise SamplingError(f"temperature must be between 0 and {MAX_TEMPERATURE:g}")
        if self.top_k < 0:
            raise SamplingError("top-k must be 0 (off) or a positive number of tokens")
        if not (0.0 < self.top_p <= 1.0):
            raise SamplingError("top-p must be in (0, 1]")

    def describe(self) -> str:
        """'T = 0.8, top-k 20, top-p off'."""
        top_k = f"top-k {self.top_k}" if self.top_k else "top-k off"
        top_p = f"top-p {self.top_p:g}" if self.top_p < 1 else "top-p off"
        return f"T = {self.temperature:g}, {top_k}, {top_p}"


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) in float64; T = 0 gives a one-hot on the argmax."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0.0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    with np.errstate(over="ignore"):  # shifted first: a tiny T sends the others to −inf, not NaN
        exp = np.exp((logits - logits.max()) / temperature)
    return exp / exp.sum()


def ranked(probs: np.ndarray) -> np.ndarray:
    """Token ids from most to least likely; ties keep the lower id first."""
    return np.argsort(-probs, kind="stable")


def distribution(logits: np.ndarray, config: SamplingConfig) -> np.ndarray:
    """The distribution actually sampled from: temperature, then top-k, then top-p over what
    top-k left (rescaled to sum to 1, the order Hugging Face's samplers use), renormalised."""
    probs = softmax(logits, config.temperature)
    order = ranked(probs)
    keep = len(probs)
    if config.top_k > 0:
        keep = min(keep, config.top_k)
    if config.top_p < 1.0:
        cumulative = np.cumsum(probs[order[:keep]])
        cumulative /= cumulative[-1]
        # the smallest prefix whose mass reaches top_p (always at least one token)
        keep = min(keep, int(np.searchsorted(cumulative, config.top_p - 1e-12)) + 1)
    mask = np.zeros_like(probs, dtype=bool)
    mask[order[:keep]] = True
    kept = np.where(mask, probs, 0.0)
    return kept / kept.sum()


def entropy_bits(probs: np.ndarray) -> float:
    nonzero = probs[probs > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


@dataclass(frozen=True)
class TopEntry:
    token: str
    id: int
    probability: float


@dataclass(frozen=True)
class Step:
    token: str
    id: int
    probability: float  # under the distribution sampled from
    rank: int  # 1 = most likely under that distribution
    top: list[TopEntry]
    logits: np.ndarray = field(repr=False)  # (V,) raw logits at this step
    probs: np.ndarray = field(repr=False)  # (V,) the distribution sampled from
    candidates: int = 0  # tokens it left a chance (p > 0): top-k and top-p leave fewer than V

    def to_dict(self) -> dict:
        return {"token": self.token, "id": self.id, "probability": self.probability,
                "rank": self.rank, "top": [vars(e) for e in self.top]}


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str  # prompt + generated continuation
    steps: list[Step]
    truncated: bool  # the prompt was longer than the model's context and was cut from the left


def next_logits(model: LanguageModel, ids: list[int]) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor([ids], device=device))[0, -1]
    return logits.float().cpu().numpy()


class _LogitStream:
    """Next-token logits as tokens are appended, one step per token: recurrent models carry
    their state, the GPT its keys and values (re-read once the text slides past its context)."""

    def __init__(self, model: LanguageModel, ids: list[int]) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.context = model.config.context if model.config.family == "gpt" else None
        self.ids = list(ids)
        self.state = None  # (h, c) / h for recurrent models, [(keys, values)] for the GPT
        self._advance(self.ids[-self.context:] if self.context else self.ids, fresh=True)

    def _advance(self, new_ids: list[int], fresh: bool = False) -> None:
        state = None if fresh else self.state
        with torch.no_grad(), exact_float32():  # the same logits on a GPU as on a CPU
            tokens = torch.tensor([new_ids], device=self.device)
            if self.context:
                logits, self.state = self.model.extend(tokens, state)
                self.logits = logits[0, -1].float().cpu().numpy()
            else:
                out, self.state = self.model.rnn(self.model.embedding(tokens), state)
                self.logits = self.model.head(out[0, -1]).float().cpu().numpy()

    def current(self) -> np.ndarray:
        return self.logits

    def append(self, token_id: int) -> None:
        self.ids.append(token_id)
        cached = self.state[0][0].shape[2] if self.context else 0
        if self.context and cached + 1 > self.context:  # positions shift: read the window again
            self._advance(self.ids[-self.context:], fresh=True)
        else:
            self._advance([token_id])


def generate(model: LanguageModel, tokenizer: Tokenizer, prompt: str, config: SamplingConfig,
             max_new_tokens: int, seed: int = 0, top_n: int = 10) -> Generation:
    """Sample max_new_tokens tokens after prompt. The same seed gives the same steps, and a
    longer generation with the same seed starts with the shorter one (the stepper relies on it)."""
    if max_new_tokens < 0:
        raise SamplingError("max new tokens must be >= 0")
    ids = tokenizer.encode(prompt).ids or [tokenizer.unk_id]
    limit = getattr(model.config, "context", None) if model.config.family == "gpt" else None
    truncated = limit is not None and len(ids) > limit
    rng = np.random.default_rng(seed)
    stream = _LogitStream(model, ids) if max_new_tokens else None
    steps: list[Step] = []
    for _ in range(max_new_tokens):
        logits = stream.current()
        probs = distribution(logits, config)
        order = ranked(probs)
        cumulative = np.cumsum(probs[order])
        pick = int(order[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(order) - 1)])
        if probs[pick] == 0.0:  # rounding at the very end of the cumulative sum
            pick = int(order[0])
        rank = int(np.nonzero(order == pick)[0][0]) + 1
        top = [TopEntry(tokenizer.piece_after(stream.ids[-1], int(i)), int(i), float(probs[i]))
               for i in order[:top_n]]  # as the pick reads: a word model's <unk> is " <unk>"
        steps.append(Step(tokenizer.piece_after(stream.ids[-1], pick), pick, float(probs[pick]), rank, top,
                          logits, probs, int(np.count_nonzero(probs))))
        stream.append(pick)
    text = prompt + "".join(s.token for s in steps)
    return Generation(prompt, text, steps, truncated)
