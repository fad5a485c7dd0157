"""How long a training will take, estimated before it starts: the floating-point operations of
a step, from the model's shapes, at a speed measured on this project's machine.

An estimate, not a promise (another CPU is faster or slower): the app uses it to decide which
trainings a lesson page may start by itself, and to say how long the others would take.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmviz.models import RECURRENT_FAMILIES, ModelConfig
from lmviz.run import TrainConfig

# Weight matrices per recurrent step, each hidden x (input + hidden): 4 gates, 3, 1.
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
BACKWARD = 3  # a training step: the forward pass, and a backward pass of about twice its work


@dataclass(frozen=True)
class Speed:
    """A device's time per training step: `overhead` seconds per layer, and one more, whatever the
    width (Python, kernel launches), plus the step's operations at `flops` per second; `token` seconds of overhead for
    each token sampled (one step of the model carrying its state, and a draw)."""

    overhead: float
    flops: float
    token: float


# Fitted with `python benchmarks/cost.py` (one torch thread, as the app trains; 2-core CPU): over
# 14 shapes, an LSTM of 32 units to a GPT 256 x 6, measured / estimated had medians of 1.0-1.3 in
# three runs, 0.86-1.08 for the large shapes and up to 1.8 for the smallest (all overhead).
# CUDA: fitted with `python benchmarks/cost.py --device cuda` on an H100 (steps replayed as CUDA
# graphs, lmviz.graphed): two runs over the same shapes bar the first (it pays for CUDA's start),
# and the app's 600 steps of its GPU sizes (GPT 384 x 6 at context 256: 12.9 s; LSTM 1024: 2.3 s,
# at context 256: 6.9 s). Measured / estimated over those 29: median 1.0, from 0.56 (LSTMs, whose
# cuDNN steps cost little per layer) to 1.8 (small GPTs). MPS is a guess: no Mac was at hand.
SPEEDS = {"cpu": Speed(0.0015, 70e9, 0.0003), "mps": Speed(0.005, 2e12, 0.002),
          "cuda": Speed(0.00175, 30e12, 0.0003)}


def forward_flops_per_token(model: ModelConfig, vocab: int) -> float:
    """Multiply-adds (x2) of one token's forward pass: the layers' matrix products (and a GPT's
    attention over its context, causal half skipped by no kernel) and the output head."""
    width = model.hidden_size
    if model.family in RECURRENT_FAMILIES:
        inputs = [model.embed_size, *[width] * (model.layers - 1)]
        layers = sum(2 * GATES[model.family] * width * (n + width) for n in inputs)
    else:  # qkv 3d², projection d², MLP 8d²; scores and weighted sum 2 * 2 * context * d
        layers = model.layers * (2 * 12 * width * width + 4 * model.context * width)
    return layers + 2 * width * vocab


def step_flops(model: ModelConfig, batch_size: int, vocab: int) -> float:
    """A training step's operations: forward and backward over batch_size windows of context."""
    return BACKWARD * forward_flops_per_token(model, vocab) * batch_size * model.context


def estimated_seconds(model: ModelConfig, train: TrainConfig, vocab: int, device: str) -> float:
    """The training's wall time on `device` ("cpu", "cuda", "mps"): its steps, and each
    evaluation (a forward pass over eval_windows windows, and a sample of sample_tokens tokens,
    one token at a time)."""
    speed = SPEEDS[device]
    overhead = speed.overhead * (model.layers + 1)
    step = overhead + step_flops(model, train.batch_size, vocab) / speed.flops
    evaluations = train.steps // train.eval_every + 1
    validation = overhead + step_flops(model, train.eval_windows, vocab) / BACKWARD / speed.flops
    sample = train.sample_tokens * (speed.token + forward_flops_per_token(model, vocab) / speed.flops)
    return train.steps * step + evaluations * (validation + sample)


def duration_words(seconds: float) -> str:
    """A duration as a person says it, rounded: "a few seconds" (a tiny run estimated at "about
    5 seconds" took 0.8), "about 40 seconds", "about a minute", "about 3 minutes"; from 90
    seconds on, at least "about 2 minutes"."""
    if seconds < 7.5:
        return "a few seconds"
    if seconds < 55:
        return f"about {max(5, round(seconds / 5) * 5)} seconds"
    if seconds < 90:
        return "about a minute"
    minutes = seconds / 60
    if minutes < 55:
        return f"about {int(minutes + 0.5)} minutes"  # 1.5 reads 2, and 2.5 reads 3
    hours = minutes / 60
    return "about an hour" if hours < 1.5 else f"about {int(hours + 0.5)} hours"
