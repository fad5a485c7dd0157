"""Plain data for the sampling lesson: the next-token bars at some settings beside T = 1, the
softmax-over-temperature arithmetic for one token, and the rows of a generation table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lmviz.models import ModelConfig
from lmviz.run import Run
from lmviz.sampling import SamplingConfig, Step, distribution, entropy_bits, ranked, softmax
from lmviz.text import sentence
from lmviz.tokenizers import Tokenizer

TOP_N = 30


@dataclass(frozen=True)
class TokenBars:
    """The top_n tokens of the T = 1 distribution, in that order, with their probabilities."""

    ids: list[int]
    pieces: list[str]
    probs: np.ndarray  # (n,) the distribution sampled from at these settings
    base_probs: np.ndarray  # (n,) softmax(logits) at T = 1
    tempered: np.ndarray  # (n,) softmax(logits / T) before top-k / top-p
    cut: np.ndarray  # (n,) bool: removed by top-k or top-p
    entropy_bits: float  # of the full distribution at these settings
    base_entropy_bits: float  # of the full T = 1 distribution
    kept: int  # tokens left with a nonzero probability (whole vocabulary)
    vocab_size: int
    likely: int = 0  # of them, those with p >= LIKELY ("67 of 67" beside p = 1.000 at T = 0.05)


LIKELY = 0.001  # a probability a pick has a real chance of: one draw in a thousand


def token_bars(logits: np.ndarray, vocab: Sequence[str], config: SamplingConfig,
               top_n: int = TOP_N) -> TokenBars:
    """Bars for the most likely tokens at T = 1 (temperature keeps that order)."""
    logits = np.asarray(logits, dtype=np.float64)
    base = softmax(logits, 1.0)
    probs = distribution(logits, config)
    tempered = softmax(logits, config.temperature)
    order = ranked(base)[:top_n]
    cut = (tempered > 0) & (probs == 0)
    return TokenBars(
        ids=[int(i) for i in order], pieces=[vocab[i] for i in order], probs=probs[order],
        base_probs=base[order], tempered=tempered[order], cut=cut[order],
        entropy_bits=max(0.0, entropy_bits(probs)), base_entropy_bits=max(0.0, entropy_bits(base)),
        kept=int(np.count_nonzero(probs)), vocab_size=len(logits),
        likely=int(np.count_nonzero(probs >= LIKELY)),
    )


@dataclass(frozen=True)
class TemperatureExample:
    """p = exp(z / T) / Σ exp(z_j / T) for the most likely token, with this input's numbers."""

    piece: str
    logit: float  # z
    scaled: float | None  # z / T (None when T = 0: greedy)
    probability: float  # at T, before top-k / top-p
    base_probability: float  # at T = 1
    temperature: float
    final: float | None = None  # after top-k / top-p, rescaled: what its bar shows (None: not asked)
    cuts: str = "Top-k and top-p"  # which of them are on, as the sentence names them

    def arithmetic(self, digits: int = 2) -> str:
        """'z = 7.76, z / T = 7.76 / 0.5 = 15.52': the division done on the z shown, so the line
        checks out by hand (from the unrounded z = 7.756 it read 15.51). '' when T = 0."""
        if self.scaled is None:
            return ""
        shown = round(self.logit, digits)
        return (f"z = {shown:.{digits}f}, z / T = {shown:.{digits}f} / {self.temperature:g} = "
                f"{shown / self.temperature:.{digits}f}")

    def sentence(self, shown: int, vocab_size: int, piece: str) -> str:
        """The chart's worked example in words (markdown): `shown` bars of a `vocab_size`
        vocabulary, the most likely token written as `piece` (already escaped for markdown)."""
        if self.scaled is None:
            return (f"The {shown} most likely tokens are shown. With **T = 0** there is no "
                    f"division: the most likely token “{piece}” (logit z = {self.logit:.2f}) gets "
                    f"p = 1 (it had p = {self.base_probability:.3f} at T = 1).")
        against = (" — the model's own distribution: move Temperature to change it"
                   if self.temperature == 1 else f" against {self.base_probability:.3f} at T = 1")
        both = " and " in self.cuts  # "Top-k and top-p then drop", "Top-p then drops"
        filtered = (" (before top-k and top-p)." if self.final is None or round(self.final, 3) == round(self.probability, 3)
                    else f". {self.cuts} then {'drop' if both else 'drops'} the tail and {'share' if both else 'shares'} its probability among the "
                         f"tokens left, so its bar stands at p = {self.final:.3f}.")
        return (f"The {shown} most likely tokens are shown. For the most likely, “{piece}”: "
                f"{self.arithmetic()}, and the softmax over all {vocab_size} scaled logits gives "
                f"it p = {self.probability:.3f} at T = {self.temperature:g}{against}{filtered}")


def temperature_example(logits: np.ndarray, vocab: Sequence[str], temperature: float,
                        config: SamplingConfig | None = None) -> TemperatureExample:
    """The worked example for the most likely token; with the page's `config` (its temperature
    the same), also its probability after top-k and top-p."""
    logits = np.asarray(logits, dtype=np.float64)
    top = int(ranked(softmax(logits, 1.0))[0])
    return TemperatureExample(
        piece=vocab[top], logit=float(logits[top]),
        scaled=float(logits[top] / temperature) if temperature > 0 else None,
        probability=float(softmax(logits, temperature)[top]),
        base_probability=float(softmax(logits, 1.0)[top]), temperature=temperature,
        final=float(distribution(logits, config)[top]) if config is not None else None,
        cuts=_cuts(config),
    )


def _cuts(config: SamplingConfig | None) -> str:
    """'Top-k', 'Top-p' or 'Top-k and top-p': the filters that are on (both, not knowing)."""
    on = [name for name, used in (("top-k", config.top_k > 0), ("top-p", config.top_p < 1)) if used] if config else []
    return sentence(" and ".join(on or ["top-k", "top-p"]))


def step_rows(steps: Sequence[Step], show=lambda piece: piece) -> list[dict]:
    """One row per generated token: its probability and rank under the distribution sampled from,
    and the most likely alternative. `show` makes whitespace visible."""
    return [{"step": i + 1, "token": show(s.token), "probability": s.probability, "rank": s.rank,
             "most likely": show(s.top[0].token) if s.top else "",
             "bits of surprise": -math.log2(s.probability) if s.probability > 0 else math.inf}
            for i, s in enumerate(steps)]


def mean_log_probability_bits(steps: Sequence[Step]) -> float | None:
    """Average surprise of the chosen tokens, in bits (None for no steps)."""
    if not steps:
        return None
    return float(np.mean([-math.log2(max(s.probability, 1e-300)) for s in steps]))


@dataclass(frozen=True)
class PromptIds:
    ids: list[int]  # what the model reads (the end of the prompt when it is over the context)
    truncated: bool
    unknown: int  # pieces that became <unk>


def prompt_ids(tokenizer: Tokenizer, config: ModelConfig, prompt: str) -> PromptIds:
    """The ids the model reads for a prompt, as `generate` reads them."""
    encoding = tokenizer.encode(prompt)
    ids = encoding.ids or [tokenizer.unk_id]
    limit = config.context if config.family == "gpt" else None
    truncated = limit is not None and len(ids) > limit
    return PromptIds(ids[-limit:] if truncated else ids, truncated, len(encoding.unknown))


def unknown_picks_note(picks: int, total: int, run: Run, temperature: float = 1.0) -> str | None:
    """What `picks` <unk> tokens among `total` generated by `run` at `temperature` mean
    (markdown; None for none): not a glitch but a real prediction, of "a token outside the
    vocabulary" where the text has many (a word vocabulary); where it has next to none, of a
    token the model has not yet learned never comes, or, above T = 1, of a flattened
    distribution (T = 2 picked one that T = 1 did not: "train longer" was the wrong lesson)."""
    if not picks:
        return None
    said = f"**{picks} of the {total} picks {'is' if picks == 1 else 'are'} `<unk>`**"
    share = run.unknown_char_share
    if share < 0.01:
        has = "none" if share == 0 else f"almost none ({share:.1%} of the validation text's characters)"
        said = f"{said}, the token for anything outside the vocabulary, though this text has {has}"
        if temperature > 1:
            return (f"{said}: at T = {temperature:g} the distribution is flattened, so even tokens the "
                    "model gives very little probability get picked now and then. At T = 1 or below "
                    "they are rarer.")
        return f"{said}: the model has not yet learned that it never comes. A longer training teaches it."
    outside = "word" if run.tokenizer_config.kind == "word" else "character"
    fewer = ("A larger Vocabulary size (on the Tokenization page) or BPE tokens leave fewer."
             if run.tokenizer_config.kind == "word" else
             "The text has more different characters than a vocabulary keeps.")
    return (f"{said}. It is one token that stands for every {outside} outside the "
            f"{run.tokenizer.vocab_size}-token vocabulary ({share:.0%} of the validation text's "
            f"characters), so “some token I do not have” is often a good guess for the model. {fewer}")
