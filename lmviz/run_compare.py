"""Plain data for the training lesson: what a view will train, a comparison row per run, the
samples taken during training, and where a diverged training blew up."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from lmviz.presets import View, configs
from lmviz.run import Event, Run
from lmviz.sampling import SamplingConfig, generate

SAMPLE_TOKENS = 60
SAMPLE_TEMPERATURE = 0.8
TARGET_FRACTION = 0.6  # of the unigram entropy: a model that clearly uses context


def plan_summary(view: View) -> str:
    """What the view trains, in words: the effective settings and what is ignored."""
    _, model, train = configs(view)
    default = " (default)"
    parts = [f"{model.family.upper()} on {view.corpus} ({view.tokenizer} tokens)",
             f"hidden size {model.hidden_size}",
             f"{model.layers} layer(s)" + ("" if view.layers else default),
             *([f"{model.heads} head(s)"] if model.family == "gpt" else []),
             f"context {model.context}",
             f"{train.steps} steps" + ("" if view.steps else default),
             f"learning rate {train.lr:g}",
             f"clipping at {train.clip:g}" if train.clip else "clipping off",
             f"dropout {model.dropout:g}",
             *([f"{train.precision} autocast"] if train.precision != "fp32" else [])]
    note = ""
    if model.family != "gpt":
        note = " Heads apply to the GPT only."
    elif model.heads != view.heads:
        note = (f" Hidden size {view.hidden_size} does not split into {view.heads} heads: "
                "1 head is used.")
    return "This trains: " + " · ".join(parts) + "." + note


TRAINING_LABELS = {"layers": "layers", "heads": "heads", "context": "context", "steps": "steps",
                   "lr": "learning rate", "dropout": "dropout", "clip": "clipping", "precision": "precision"}


def training_changes(view: View) -> list[str]:
    """The Training page's settings that differ from the defaults, in words (every page's models
    are trained with them)."""
    default = View()
    return [_setting(name, getattr(view, name)) for name in TRAINING_LABELS
            if getattr(view, name) != getattr(default, name)]


def _setting(name: str, value: object) -> str:
    """'learning rate 3', 'clipping off', 'layers 2'."""
    if name == "clip" and not value:
        return "clipping off"
    return f"{TRAINING_LABELS[name]} {value:g}" if isinstance(value, float) else f"{TRAINING_LABELS[name]} {value}"


def target_loss(run: Run) -> float:
    """60% of the unigram entropy: well below what a model ignoring context can reach."""
    return TARGET_FRACTION * run.unigram_entropy


def evaluation_samples(events: Sequence[Event]) -> list[tuple[int, str]]:
    """(step, sample) for every evaluation that generated text, in order."""
    return [(e.step, e.sample) for e in events if e.sample]


def run_sample(run: Run, prompt: str, seed: int = 0) -> str | None:
    """The last sample taken while training, else one generated now; None for a diverged run."""
    if not run.usable:
        return None
    taken = evaluation_samples(run.history)
    if taken:
        return taken[-1][1]
    start = prompt if prompt.strip() else run.tokenizer.vocab[0]
    config = SamplingConfig(temperature=SAMPLE_TEMPERATURE)
    return generate(run.model, run.tokenizer, start, config, SAMPLE_TOKENS, seed=seed).text


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None and math.isfinite(value) else None


def run_row(run: Run, sample: str | None) -> dict:
    """One row of the runs table: settings, cost and results of the final weights."""
    model, train = run.model_config, run.train_config
    return {
        "key": run.key, "corpus": run.corpus, "tokenizer": run.tokenizer_config.kind,
        "model": model.family, "hidden": model.hidden_size, "layers": model.layers,
        "heads": str(model.heads) if model.family == "gpt" else "—", "steps": train.steps,
        "lr": train.lr, "dropout": model.dropout, "clip": train.clip, "seed": train.seed,
        "weights": run.parameters, "seconds": round(run.seconds, 1), "device": run.device,
        # a diverged run's final weights are broken: an earlier validation loss would mislead
        "val loss": _rounded(run.val_loss) if run.usable else None,
        "bits/char": _rounded(run.bits_per_char) if run.usable else None,
        "outcome": run.outcome, "sample": sample or "—",
    }


@dataclass(frozen=True)
class Blowup:
    step: int
    loss: float  # the train loss that gave it away (may be inf or nan)
    grad_norm: float
    lr: float
    best_loss: float | None  # the lowest train loss before it
    uniform_loss: float  # ln V: the loss of guessing uniformly


def blowup(run: Run) -> Blowup | None:
    """Where a diverged training was stopped; None if it did not diverge."""
    if run.outcome != "diverged" or not run.history:
        return None
    last = run.history[-1]
    before = [e.train_loss for e in run.history[:-1] if math.isfinite(e.train_loss)]
    return Blowup(last.step, last.train_loss, last.grad_norm, last.lr,
                  min(before) if before else None, math.log(run.model_config.vocab_size))


@dataclass(frozen=True)
class Drop:
    """The largest fall of the validation loss between two evaluations in a row."""

    step_before: int
    loss_before: float
    step_after: int
    loss_after: float


def steepest_drop(history: Sequence[Event]) -> Drop | None:
    """Where the validation loss fell most between consecutive evaluations (None: fewer than two)."""
    evaluated = [e for e in history if e.val_loss is not None and math.isfinite(e.val_loss)]
    pairs = list(pairwise(evaluated))
    if not pairs:
        return None
    before, after = max(pairs, key=lambda pair: pair[0].val_loss - pair[1].val_loss)
    return Drop(before.step, before.val_loss, after.step, after.val_loss)
