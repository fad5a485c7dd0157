"""Training events, determinism, cancellation, divergence, and run keys."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

import lmviz.training as training_module
from lmviz.attention_math import induction_scores, previous_token_scores
from lmviz.corpora import load_corpus, min_chars
from lmviz.jobs import SHIPPED_RUNS
from lmviz.models import RNG_LOCK, ModelConfig, build_model
from lmviz.presets import View, configs, copy_lesson, shipped_views
from lmviz.probes import trace_text
from lmviz.run import Event, Run, TrainConfig, load_run, run_key, save_run
from lmviz.run_compare import (
    VAL_LOSS_HELP,
    held_out_note,
    history_caption,
    steepest_drop,
    val_loss_help,
)
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import DropoutStream, Training, TrainingError, lr_at, train_run, unigram_entropy

CHAR = TokenizerConfig("char")
LSTM = ModelConfig(family="lstm", embed_size=8, hidden_size=16, context=16)
GPT = ModelConfig(family="gpt", hidden_size=16, heads=2, layers=1, context=16)
TRAIN = TrainConfig(steps=12, batch_size=8, eval_every=6, log_every=3, sample_tokens=8,
                    device="cpu", seed=3)


def without_timing(history: tuple[Event, ...]) -> list[tuple]:
    return [(e.step, e.steps, e.train_loss, e.val_loss, e.grad_norm, e.lr, e.sample, e.outcome)
            for e in history]


def assert_same_weights(a: Run, b: Run) -> None:
    left, right = a.model.state_dict(), b.model.state_dict()
    assert left.keys() == right.keys()
    for name in left:
        assert torch.equal(left[name], right[name]), name


@pytest.fixture(scope="module")
def text(story: str) -> str:
    return story[:12_000]


@pytest.mark.parametrize("model", [LSTM, GPT], ids=["lstm", "gpt"])
def test_same_seed_gives_identical_runs(text: str, model: ModelConfig) -> None:
    first = train_run(text, "story", CHAR, model, TRAIN)
    second = train_run(text, "story", CHAR, model, TRAIN)
    assert_same_weights(first, second)
    assert without_timing(first.history) == without_timing(second.history)
    assert first.key == second.key
    assert any(e.sample for e in first.history)  # samples are part of the identical history


@pytest.mark.parametrize("model", [replace(LSTM, layers=2, dropout=0.3), replace(GPT, dropout=0.3)],
                         ids=["lstm", "gpt"])
def test_a_run_with_dropout_does_not_depend_on_trainings_beside_it(text: str, model: ModelConfig) -> None:
    """The app trains two at once (lmviz.jobs). Their dropout masks came from torch's one
    process-wide generator, which each new training also reseeded: the same settings gave
    weights 0.24 apart, so a shared run key no longer named one model."""
    alone = train_run(text, "story", CHAR, model, TRAIN)
    beside = Training(text, "story", CHAR, model, TRAIN)
    other = Training(text, "story", CHAR, model, replace(TRAIN, seed=4))
    for _ in zip(beside, other, strict=True):  # in turns: the other starts after this one
        torch.rand(3)  # and something else draws from the process's generator between them
    assert beside.run is not None and other.run is not None
    assert_same_weights(alone, beside.run)
    assert without_timing(alone.history) == without_timing(beside.run.history)
    state = torch.get_rng_state()
    train_run(text, "story", CHAR, model, TRAIN)
    assert torch.equal(torch.get_rng_state(), state)  # nor does a training move the process's


def test_a_model_built_beside_a_training_with_dropout_leaves_its_weights_alone(text: str) -> None:
    """A run loaded from disk builds a model (random init) while another trains: it took numbers
    out of the training's dropout stream (weights 0.19 apart)."""
    model = replace(GPT, dropout=0.3)
    alone = train_run(text, "story", CHAR, model, TRAIN)
    stop = threading.Event()

    def build_again_and_again() -> None:
        while not stop.is_set():
            build_model(LSTM)

    builder = threading.Thread(target=build_again_and_again, daemon=True)
    builder.start()
    try:
        beside = train_run(text, "story", CHAR, model, TRAIN)
    finally:
        stop.set()
        builder.join(timeout=30)
    assert_same_weights(alone, beside)


def test_a_dropout_stream_that_fails_lets_go_of_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Else every later model and training waited for it forever."""
    stream = DropoutStream(0, torch.device("cpu"))

    def broken(state: torch.Tensor) -> None:
        raise RuntimeError("no state")

    monkeypatch.setattr(torch, "set_rng_state", broken)
    with pytest.raises(RuntimeError), stream:
        pass
    monkeypatch.undo()
    assert not RNG_LOCK.locked()
    with stream:
        assert RNG_LOCK.locked()
    assert not RNG_LOCK.locked()


def test_samples_are_only_what_the_model_wrote(text: str) -> None:
    """Each evaluation sample is sample_tokens characters of the model's own, started from a line
    break that is not part of it (no corpus text shown as if the model had written it)."""
    training = Training(text, "story", CHAR, LSTM, TRAIN)
    samples = [e.sample for e in training if e.sample]
    assert training.sample_start == "\n" and len(samples) == 2
    # a token outside the vocabulary is written as "<unk>"
    assert all(len(sample.replace("<unk>", "?")) == TRAIN.sample_tokens for sample in samples)


def test_a_tokenizer_without_line_breaks_starts_samples_from_the_first_token() -> None:
    training = Training("the cat sat on the mat. " * 200, "mats", TokenizerConfig("word"), LSTM, TRAIN)
    assert training.sample_start == "the"


def test_samples_never_start_from_an_unknown_token() -> None:
    """A word vocabulary that leaves out the text's first word (it occurs once) starts from the
    first word it knows."""
    text = "Zanzibar " + "the cat sat on the mat. " * 200
    training = Training(text, "mats", TokenizerConfig("word", 8), LSTM, TRAIN)
    assert training.tokenizer.encode("Zanzibar").unknown == [0]
    assert training.sample_start == " the"


def test_different_seeds_differ(text: str) -> None:
    first = train_run(text, "story", CHAR, LSTM, TRAIN)
    other = train_run(text, "story", CHAR, LSTM, replace(TRAIN, seed=4))
    differs = [name for name, value in first.model.state_dict().items()
               if not torch.equal(value, other.model.state_dict()[name])]
    assert differs
    assert first.history[0].train_loss != other.history[0].train_loss


def test_loss_decreases(story: str) -> None:
    model = ModelConfig(family="lstm", embed_size=16, hidden_size=32, context=32)
    train = TrainConfig(steps=60, batch_size=16, lr=1e-2, warmup=5, eval_every=20, log_every=10,
                        sample_tokens=0, device="cpu")
    run = train_run(story, "story", CHAR, model, train)
    uniform = math.log(run.model_config.vocab_size)
    first, last = run.history[0], run.history[-1]
    assert first.train_loss > last.train_loss + 0.5
    val_losses = [e.val_loss for e in run.history if e.val_loss is not None]
    assert val_losses == sorted(val_losses, reverse=True)
    assert val_losses[-1] < uniform - 1.0
    assert run.bits_per_char is not None and run.bits_per_char < uniform / math.log(2)


def test_events_report_progress_and_validation(text: str) -> None:
    train = replace(TRAIN, steps=20, log_every=5, eval_every=10, sample_tokens=0)
    training = Training(text, "story", CHAR, LSTM, train)
    events = list(training)
    assert [e.step for e in events] == [5, 10, 15, 20]
    assert [e.val_loss is not None for e in events] == [False, True, False, True]
    assert [e.outcome for e in events] == [None, None, None, "finished"]
    assert all(e.steps == 20 and e.sample is None for e in events)
    assert all(math.isfinite(e.train_loss) and e.grad_norm > 0 and e.tokens_per_second > 0
               for e in events)
    assert [e.lr for e in events] == [lr_at(e.step - 1, train) for e in events]
    assert training.run is not None
    assert training.run.history == tuple(events)
    assert training.run.outcome == "finished"
    assert training.run.device == "cpu"
    assert training.run.model.training is False
    assert not any(p.requires_grad for p in training.run.model.parameters())


def test_last_step_is_always_reported(text: str) -> None:
    events = list(Training(text, "story", CHAR, LSTM,
                           replace(TRAIN, steps=12, log_every=5, eval_every=10, sample_tokens=0)))
    assert [e.step for e in events] == [5, 10, 12]
    assert events[-1].val_loss is not None and events[-1].outcome == "finished"


def test_cancel_from_inside_the_loop(text: str) -> None:
    cancel = threading.Event()
    training = Training(text, "story", CHAR, LSTM, replace(TRAIN, steps=500, log_every=2),
                        cancel=cancel)
    events = []
    for event in training:
        events.append(event)
        cancel.set()
    assert len(events) == 1 and events[0].step == 2
    run = training.run
    assert run is not None
    assert run.outcome == "cancelled"
    assert run.history[-1].outcome == "cancelled"
    assert run.history[-1].step == 2


def test_a_diverged_run_keeps_every_step_before_the_blow_up(text: str) -> None:
    """Reports give a mean loss and the last gradient norm of their steps; a diverged run's history
    has every step (the lesson's lowest loss and the norm's peak are the steps' own), with its
    evaluations where they were, and the same numbers as a training that reports every step."""
    train = replace(TRAIN, lr=30.0, warmup=100, steps=1000, log_every=10, eval_every=20, sample_tokens=0)
    training = Training(text, "story", CHAR, LSTM, train)
    live = list(training)
    assert training.run is not None and training.run.outcome == "diverged"
    history = training.run.history
    assert [e.step for e in history] == list(range(1, live[-1].step + 1))
    reports = [e for e in live if e.step % 10 == 0]
    assert len(reports) >= 2 and len(live) < len(history)  # it blew up after two reports or more
    for before, report in zip([0, *(r.step for r in reports)], reports, strict=False):
        steps = history[before:report.step]
        assert np.mean([e.train_loss for e in steps]) == pytest.approx(report.train_loss, rel=1e-9)
        assert steps[-1].grad_norm == report.grad_norm
    assert ({e.step: e.val_loss for e in history if e.val_loss is not None}
            == {e.step: e.val_loss for e in live if e.val_loss is not None})
    assert history[-len(live) + len(reports):] == tuple(live[len(reports):])  # the blow-up's own
    every = Training(text, "story", CHAR, LSTM, replace(train, log_every=1))
    list(every)
    assert every.run is not None
    assert ([(e.step, e.train_loss, e.grad_norm, e.lr) for e in every.run.history]
            == [(e.step, e.train_loss, e.grad_norm, e.lr) for e in history])


def test_a_long_run_that_diverged_keeps_its_reports_before_the_last_steps(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step of the last MAX_STEP_EVENTS, from just after a report: no steps missing."""
    monkeypatch.setattr(training_module, "MAX_STEP_EVENTS", 15)
    train = replace(TRAIN, lr=30.0, warmup=100, steps=1000, log_every=10, eval_every=20, sample_tokens=0)
    training = Training(text, "story", CHAR, LSTM, train)
    live = list(training)
    assert training.run is not None and training.run.outcome == "diverged" and live[-1].step > 30
    steps, stop = [e.step for e in training.run.history], live[-1].step
    first = max(e.step for e in live if e.step % 10 == 0) + 1  # the window that blew up
    start = max(report for report in range(10, first, 10) if report <= first - 15) + 1
    assert steps == [*range(10, start, 10), *range(start, stop + 1)]  # reports, then every step
    assert training.run.history[:len(range(10, start, 10))] == tuple(live[:len(range(10, start, 10))])


def test_huge_learning_rate_diverges_without_raising(text: str) -> None:
    train = replace(TRAIN, lr=100.0, clip=0.0, warmup=0, steps=50, log_every=1, sample_tokens=0)
    training = Training(text, "story", CHAR, LSTM, train)
    events = list(training)
    assert events[-1].outcome == "diverged"
    assert events[-1].step < 50
    assert all(e.outcome is None for e in events[:-1])
    assert training.run is not None and training.run.outcome == "diverged"
    assert training.run.usable is False


def test_a_blow_up_between_log_points_is_reported_step_by_step(text: str) -> None:
    """Losses are read only at log points (no host sync per step), yet a divergence shows every
    step since the last one, so the lesson can plot how the loss and gradient grew."""
    train = replace(TRAIN, lr=100.0, clip=0.0, warmup=0, steps=50, log_every=25, eval_every=25,
                    sample_tokens=0)
    events = list(Training(text, "story", CHAR, LSTM, train))
    steps = [e.step for e in events]
    assert steps == list(range(1, len(events) + 1)) and len(events) < 25  # blew up before step 25
    assert events[-1].outcome == "diverged" and all(e.outcome is None for e in events[:-1])
    logged = Training(text, "story", CHAR, LSTM, replace(train, log_every=1, eval_every=1))
    assert [(e.step, e.train_loss) for e in logged] == [(e.step, e.train_loss) for e in events]


def test_text_too_short_for_the_context() -> None:
    with pytest.raises(TrainingError, match="context 64"):
        Training("a short text of a few dozen characters.", "x", CHAR,
                 replace(LSTM, context=64), TRAIN)


@pytest.mark.parametrize("context", [32, 64])
def test_min_chars_is_the_shortest_text_that_trains(context: int) -> None:
    """The sidebar's warning for a short upload: one character fewer cannot train."""
    needed = min_chars(context)
    text = ("the keeper climbed the stair " * 10)[:needed]
    Training(text, "x", CHAR, replace(LSTM, context=context), TRAIN)
    with pytest.raises(TrainingError, match=f"context {context} needs at least {context + 2}"):
        Training(text[:-1], "x", CHAR, replace(LSTM, context=context), TRAIN)


def test_single_token_validation_split_still_trains(tmp_path) -> None:
    # word tokens: the last 10% of the text is one word, too short for a validation window
    text = "aa bb " * 15 + "x" * 10
    run = train_run(text, "x", TokenizerConfig("word", 50), replace(LSTM, context=8),
                    replace(TRAIN, steps=2, sample_tokens=0))
    assert run.outcome == "finished"
    assert run.val_loss is not None and math.isfinite(run.val_loss)
    # measured on the training text's end, which the pages called "text it never trained on"
    assert run.held_out is False and "measured on the end of the training text" in held_out_note(run)
    # and the chart's caption and the metric's help beside that note say so too
    assert "never" not in history_caption(run, None) + val_loss_help(run)
    assert "validation (red) is the end of the training text here" in history_caption(run, None)
    assert "each next token of the end of its training text (too little text" in val_loss_help(run)
    assert val_loss_help(replace(run, held_out=True)) == VAL_LOSS_HELP.format(text="text it never trained on")
    assert val_loss_help(replace(run, outcome="diverged")).endswith("none worth a number.")
    assert load_run(save_run(run, tmp_path / "run")).held_out is False
    assert train_run(text * 4, "x", TokenizerConfig("word", 50), replace(LSTM, context=8),
                     replace(TRAIN, steps=2, sample_tokens=0)).held_out


def test_train_config_rejects_bad_values() -> None:
    for settings in ({"steps": 0}, {"batch_size": 0}, {"lr": 0.0}, {"lr": math.nan},
                     {"lr": 1000.0}, {"clip": -1.0}, {"eval_every": 0}, {"log_every": 0},
                     {"precision": "fp16"}):
        with pytest.raises(ValueError):
            TrainConfig(**settings)


def test_run_key_tracks_every_setting(text: str) -> None:
    base = run_key(text, CHAR, LSTM, TRAIN)
    assert base == run_key(text, TokenizerConfig("char"), replace(LSTM), replace(TRAIN))
    variants = [
        run_key(text + ".", CHAR, LSTM, TRAIN),
        run_key(text, TokenizerConfig("bpe"), LSTM, TRAIN),
        run_key(text, TokenizerConfig("word", 300), LSTM, TRAIN),
        run_key(text, CHAR, replace(LSTM, hidden_size=24), TRAIN),
        run_key(text, CHAR, replace(LSTM, family="gru"), TRAIN),
        run_key(text, CHAR, replace(LSTM, context=32), TRAIN),
        run_key(text, CHAR, replace(LSTM, dropout=0.1), TRAIN),
        run_key(text, CHAR, LSTM, replace(TRAIN, seed=4)),
        run_key(text, CHAR, LSTM, replace(TRAIN, steps=13)),
        run_key(text, CHAR, LSTM, replace(TRAIN, lr=1e-3)),
        run_key(text, CHAR, LSTM, replace(TRAIN, batch_size=4)),
        run_key(text, CHAR, LSTM, replace(TRAIN, clip=0.0)),
        run_key(text, CHAR, LSTM, replace(TRAIN, precision="bf16")),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)
    assert Training(text, "story", CHAR, LSTM, TRAIN).key == base


def test_schedule_and_unigram_entropy() -> None:
    config = TrainConfig(steps=100, lr=1.0, warmup=10)
    assert lr_at(0, config) == pytest.approx(0.1)
    assert lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(100, config) == pytest.approx(0.1)
    # a run shorter than ten warmups warms up for a tenth of it, and still decays
    short = TrainConfig(steps=10, lr=1.0, warmup=30)
    assert lr_at(0, short) == pytest.approx(1.0) and lr_at(9, short) < 0.2
    assert max(lr_at(step, TrainConfig(steps=30, lr=1.0, warmup=30)) for step in range(30)) == 1.0
    schedule = [lr_at(step, config) for step in range(10, 100)]
    assert schedule == sorted(schedule, reverse=True)
    assert unigram_entropy([0, 1, 0, 1]) == pytest.approx(math.log(2))
    assert unigram_entropy([5, 5, 5]) == 0.0


def test_the_shipped_runs_keep_their_keys() -> None:
    """Fields added later (precision) stay out of the key at their default: the app still finds
    every shipped default run under the key its view gives."""
    views = shipped_views()
    assert {v.corpus for v in views} == {"story", "brackets", "copy", "agreement"}
    assert copy_lesson(View()) in views  # the Attention page's copy lesson ships too
    for view in views:
        for family in ("lstm", "gpt"):
            tokenizer, model, train = configs(view, family)
            assert train.precision == "fp32"
            key = run_key(load_corpus(view.corpus), tokenizer, model, train)
            assert (SHIPPED_RUNS / key / "model.safetensors").is_file(), (view, family)


def test_the_shipped_copy_lesson_has_an_induction_head() -> None:
    """The Attention page promises a GPT that learned to copy: its loss fell suddenly after a
    plateau, and its top head looks at the token after the earlier occurrence of the current one
    whatever the span's length. A head that looks back a fixed distance (what the lesson learned
    when every span had the same length) scores near chance on spans of other lengths."""
    view = copy_lesson(View())
    run = load_run(SHIPPED_RUNS / run_key(load_corpus("copy"), *configs(view)))
    drop = steepest_drop(run.history)
    assert drop is not None and drop.loss_before - drop.loss_after > 0.3 and drop.step_before >= 300
    assert run.val_loss < 2.0  # without copying it stays near 2.55 nats
    example = induction_scores(trace_text(run, view.prompt).trace)
    layer, head = np.unravel_index(int(np.argmax(example.scores)), example.scores.shape)
    assert layer == 1  # induction takes two layers: it matches on what layer 0 moved forward
    previous, uniform = previous_token_scores(trace_text(run, view.prompt).trace)
    assert previous[0].max() > 2 * uniform  # the layer-0 head that makes it possible
    # spans of 6 and 11 letters (the example), 12, 19, 5 + 12 letters on two lines
    prompts = [view.prompt, "hqr vtas ipo | hqr vtas", "wxyv ad kqz bol emt | wxyv ad kqz bol emt",
               "kq bo | kq bo\nhqr vtas ipo | hqr vtas"]
    for prompt in prompts:
        scores = induction_scores(trace_text(run, prompt).trace)
        assert scores.scores[layer, head] > max(0.3, 3 * scores.chance), prompt


def test_bf16_autocast_trains_and_keeps_fp32_weights(text: str) -> None:
    train = replace(TRAIN, precision="bf16", steps=30)
    run = train_run(text, "t", CHAR, LSTM, train)
    assert run.outcome == "finished" and run.train_config.precision == "bf16"
    assert all(p.dtype == torch.float32 for p in run.model.parameters())
    assert run.history[-1].train_loss < run.history[0].train_loss
    fp32 = train_run(text, "t", CHAR, LSTM, replace(train, precision="fp32"))
    head, head_fp32 = run.model.head.weight, fp32.model.head.weight
    assert not torch.equal(head, head_fp32)  # the switch changed the arithmetic...
    assert torch.allclose(head, head_fp32, atol=0.05)  # ...not what was learned
