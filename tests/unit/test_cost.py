"""The training-time estimate: operation counts worked by hand, and how the estimate moves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lmviz.cost import (
    SPEEDS,
    duration_words,
    estimated_seconds,
    forward_flops_per_token,
    step_flops,
)
from lmviz.models import ModelConfig
from lmviz.run import TrainConfig

LSTM = ModelConfig(family="lstm", vocab_size=80, embed_size=32, hidden_size=128, layers=1, context=64)
GPT = ModelConfig(family="gpt", vocab_size=80, hidden_size=128, layers=2, heads=4, context=64)


def test_recurrent_forward_counts_each_gate_s_matrix_and_the_head() -> None:
    # 4 gates of 128 x (32 + 128), two operations per multiply-add; the head 128 x 80
    assert forward_flops_per_token(LSTM, 80) == 2 * 4 * 128 * 160 + 2 * 128 * 80
    assert forward_flops_per_token(replace(LSTM, family="gru"), 80) == 2 * 3 * 128 * 160 + 2 * 128 * 80
    assert forward_flops_per_token(replace(LSTM, family="rnn"), 80) == 2 * 1 * 128 * 160 + 2 * 128 * 80
    # a second layer reads the first's 128 outputs, not the 32-wide embedding
    two = forward_flops_per_token(replace(LSTM, layers=2), 80)
    assert two - forward_flops_per_token(LSTM, 80) == 2 * 4 * 128 * 256


def test_gpt_forward_counts_its_blocks_attention_and_head() -> None:
    block = 2 * 12 * 128 * 128 + 4 * 64 * 128  # qkv, projection, MLP; scores and weighted sum
    assert forward_flops_per_token(GPT, 80) == 2 * block + 2 * 128 * 80
    assert forward_flops_per_token(replace(GPT, context=128), 80) > forward_flops_per_token(GPT, 80)


def test_a_step_is_forward_and_backward_over_every_window_token() -> None:
    assert step_flops(LSTM, 32, 80) == 3 * forward_flops_per_token(LSTM, 80) * 32 * 64


def test_the_estimate_grows_with_steps_width_depth_and_vocabulary() -> None:
    train = TrainConfig(steps=600, eval_every=60)
    base = estimated_seconds(LSTM, train, 80, "cpu")
    assert estimated_seconds(LSTM, replace(train, steps=1200, eval_every=120), 80, "cpu") == pytest.approx(
        2 * base, rel=0.05)
    assert estimated_seconds(replace(LSTM, hidden_size=512), train, 80, "cpu") > 8 * base
    assert estimated_seconds(replace(GPT, layers=4), train, 80, "cpu") > estimated_seconds(GPT, train, 80, "cpu")
    assert estimated_seconds(LSTM, train, 2000, "cpu") > base
    # a GPU is launch-bound: a big model costs it little more than a small one
    big = replace(GPT, hidden_size=512, layers=6)
    assert estimated_seconds(big, train, 80, "cuda") < estimated_seconds(big, train, 80, "cpu") / 50


def test_the_estimate_matches_the_measured_defaults_on_this_machine_class() -> None:
    """The README's time-to-quality runs: the default LSTM's 600 steps took 7.8 s with two
    threads (one thread, as the app trains, ~10 s) and the default GPT's 36.9 s (~50 s)."""
    train = TrainConfig(steps=600, eval_every=60, log_every=12)
    assert 5 < estimated_seconds(LSTM, train, 80, "cpu") < 20
    assert 30 < estimated_seconds(GPT, train, 80, "cpu") < 80


def test_every_device_has_a_speed() -> None:
    assert set(SPEEDS) == {"cpu", "cuda", "mps"}
    with pytest.raises(KeyError):
        estimated_seconds(LSTM, TrainConfig(), 80, "tpu")


@pytest.mark.parametrize(("seconds", "words"), [
    (0.3, "a few seconds"), (7.4, "a few seconds"), (7.6, "about 10 seconds"), (12, "about 10 seconds"), (49.5, "about 50 seconds"),
    (60, "about a minute"), (89, "about a minute"), (90, "about 2 minutes"), (125, "about 2 minutes"),
    (150, "about 3 minutes"),
    (17_000, "about 5 hours"), (3_600, "about an hour"),
])
def test_durations_read_as_a_person_says_them(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words
