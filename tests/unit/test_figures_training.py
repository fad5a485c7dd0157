"""Training-lesson helpers (plan, runs table rows, samples, blow-up) and the training figures."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from lmviz.corpora import corpus_names, split_text
from lmviz.figures.style import VAL_COLOR
from lmviz.figures.training import figure_blowup, figure_grad_lr, figure_loss, log_axis, step_axis
from lmviz.presets import View, configs, heads_for
from lmviz.run import Event, Run, run_key
from lmviz.run_compare import (
    SAMPLE_SIGNS,
    SAMPLE_TOKENS,
    blowup,
    evaluation_samples,
    history_caption,
    learned_stage,
    learning_story,
    memorised,
    overfitting,
    plan_summary,
    run_row,
    run_sample,
    sample_signs,
    samples_block,
    samples_heading,
    steepest_drop,
    target_loss,
    time_left,
    training_budget,
    training_changes,
    view_changes,
)
from lmviz.sampling import SamplingConfig, generate
from lmviz.tokenizers import TokenizerConfig, train_tokenizer
from lmviz.training import SAMPLE_TEMPERATURE, sample_start


def event(step: int, loss: float, val: float | None = None, sample: str | None = None,
          grad: float = 1.0) -> Event:
    return Event(step, 30, loss, val, grad, 1e-3, 100.0, step / 10, sample)


EVENTS = [event(1, 4.0), event(2, 3.0, 3.1, "ab"), event(3, 2.5), event(4, 2.0, 2.2, "abc")]


def test_configs_take_a_device_outside_the_run_key() -> None:
    view = View()
    _, _, auto = configs(view)
    tokenizer, model, cpu = configs(view, device="cpu")
    assert auto.device == "auto" and cpu.device == "cpu"
    assert replace(cpu, device="auto") == auto
    assert run_key("text", tokenizer, model, cpu) == run_key("text", tokenizer, model, auto)
    assert configs(view, "gpt", "cpu")[1].family == "gpt"


def test_heads_fall_back_to_the_most_that_split_the_width() -> None:
    assert [heads_for(128, h) for h in range(1, 9)] == [1, 2, 2, 4, 4, 4, 4, 8]
    assert heads_for(384, 5) == 4 and heads_for(384, 6) == 6 and heads_for(30, 4) == 3
    assert configs(View(model="gpt", heads=7))[1].heads == 4


def test_training_changes_say_which_family_a_setting_trains() -> None:
    assert training_changes(View()) == []
    changes = training_changes(View(model="lstm", layers=3, steps=300, heads=8, lr=3.0, clip=0.0))
    assert changes == ["layers 3 (LSTM only)", "heads 8 (GPT only)", "steps 300",
                       "learning rate 3", "clipping off"]
    assert training_changes(View(model="gpt", layers=3)) == ["layers 3 (GPT only)"]


def test_view_changes_add_the_model_size_tokens_and_seed() -> None:
    assert view_changes(View()) == []
    assert view_changes(View(vocab_size=512)) == []  # the vocabulary of char tokens is the text's
    assert view_changes(View(corpus="copy", seed=2)) == ["corpus copy", "seed 2"]
    assert view_changes(View(corpus="upload")) == ["your uploaded text"]
    assert view_changes(View(tokenizer="bpe", vocab_size=512, hidden_size=16, steps=20, seed=5)) == [
        "bpe tokens", "vocabulary 512", "hidden size 16", "steps 20", "seed 5"]


def test_plan_summary_names_defaults_and_ignored_settings() -> None:
    text = plan_summary(View())
    assert "LSTM on story (char tokens) · hidden size 128 · 1 layer (default)" in text and "600 steps (default)" in text
    assert "learning rate 0.01" in text and "clipping at 1" in text
    assert "Heads apply to the GPT only" in text
    gpt = plan_summary(View(model="gpt", layers=3, steps=50, clip=0.0, heads=3))
    assert "GPT on story (char tokens) · hidden size 128 · 3 layers ·" in gpt and "50 steps ·" in gpt and "clipping off" in gpt
    assert "does not split into 3 heads: 2 heads are used" in gpt and "2 heads" in gpt
    assert "does not split into 2 heads: 1 head is used" in plan_summary(View(model="gpt", hidden_size=7, heads=2))
    assert "4 heads" in plan_summary(View(model="gpt"))
    big = plan_summary(View(model="gpt", hidden_size=384, layers=6, heads=8, context=256, precision="bf16"))
    assert "hidden size 384 · 6 layers · 8 heads · context 256 ·" in big and big.endswith("bf16 autocast.")
    assert "context 64" in text and "autocast" not in text


def test_evaluation_samples() -> None:
    assert evaluation_samples(EVENTS) == [(2, "ab"), (4, "abc")]
    assert evaluation_samples([]) == []


def test_run_row_and_sample(lstm_run: Run) -> None:
    sample = run_sample(lstm_run, "The ")
    assert sample is not None and sample.startswith("The ") and len(sample) > len("The ")
    assert run_sample(lstm_run, "The ") == sample  # seeded
    # a blank prompt: what the model writes from its evaluation samples' start, only that (the
    # text "<unk>" had been its prompt, and the sample's first five characters)
    blank = run_sample(lstm_run, " ")
    steps = generate(lstm_run.model, lstm_run.tokenizer, lstm_run.sample_start,
                     SamplingConfig(temperature=SAMPLE_TEMPERATURE), SAMPLE_TOKENS, seed=0).steps
    assert blank == "".join(step.token for step in steps) and not blank.startswith("<unk>")
    with_samples = replace(lstm_run, history=tuple(EVENTS))
    assert run_sample(with_samples, "The ") == "abc"  # the last evaluation's sample
    row = run_row(lstm_run, sample)
    assert row["key"] == lstm_run.key and row["model"] == "lstm" and row["heads"] == "—"
    # every setting of the key: runs that differed only in these looked the same
    assert (row["context"], row["precision"]) == (lstm_run.model_config.context, lstm_run.train_config.precision)
    assert row["vocab"] == ("—" if lstm_run.tokenizer_config.kind == "char" else str(lstm_run.tokenizer_config.vocab_size))
    assert training_budget(lstm_run) == (f"{lstm_run.train_config.steps} steps at learning rate "
                                         f"{lstm_run.train_config.lr:g}, validation loss {lstm_run.val_loss:.2f}")
    assert row["parameters"] == lstm_run.parameters and row["device"] == lstm_run.device
    assert row["val loss"] == pytest.approx(lstm_run.val_loss, abs=1e-3)
    assert row["bits/char"] == pytest.approx(lstm_run.bits_per_char, abs=1e-3)
    assert row["outcome"] == "finished" and row["sample"] == sample
    assert run_row(lstm_run, None)["sample"] == "—"


def test_target_is_sixty_percent_of_unigram_entropy(lstm_run: Run) -> None:
    assert target_loss(lstm_run) == pytest.approx(0.6 * lstm_run.unigram_entropy)


def test_blowup_of_a_diverged_run(lstm_run: Run) -> None:
    assert blowup(lstm_run) is None
    history = (*EVENTS, replace(event(5, math.nan, grad=math.inf), outcome="diverged"))
    diverged = replace(lstm_run, outcome="diverged", history=history)
    found = blowup(diverged)
    assert found is not None and found.step == 5 and math.isnan(found.loss)
    assert found.grad_norm == math.inf and found.best_loss == 2.0
    assert (found.peak_grad_norm, found.peak_step) == (1.0, 1)  # the largest finite one, first seen
    assert found.gradient_words() == "the gradient norm peaked at 1.00 at step 1 and was infinity at the stop"
    calm = replace(diverged, history=(*EVENTS[:2], replace(event(3, 9.0, grad=50.0), outcome="diverged")))
    assert blowup(calm).gradient_words() == "the gradient norm peaked at 50.0 there"
    # the events' rate is 1e-3, the run's setting its own: the schedule's rate is named beside it
    said = f"at that step (the schedule's; the setting is {lstm_run.train_config.lr:g})"
    assert found.rate_words() == f"With learning rate 0.001 {said}"
    assert replace(found, lr=found.lr_setting).rate_words() == f"With learning rate {found.lr_setting:g}"
    assert found.uniform_loss == pytest.approx(math.log(lstm_run.model_config.vocab_size))
    assert run_sample(diverged, "The ") is None
    row = run_row(diverged, None)
    assert row["outcome"] == "diverged" and row["val loss"] is None and row["bits/char"] is None
    # the lesson and the charts' caption carry this run's numbers
    assert found.lesson().startswith(f"**The training diverged at step 5.** The loss went from 2.00 to "
                                     f"NaN — worse than guessing uniformly ({found.uniform_loss:.2f}) — "
                                     "and the gradient norm peaked at 1.00 at step 1")
    assert replace(found, best_loss=None).lesson().startswith("**The training diverged at step 5.** "
                                                              "The loss went to NaN")
    caption = history_caption(diverged, found)
    assert caption.startswith("The loss chart: the loss on a log scale") and "target" not in caption
    assert f"over all {lstm_run.model_config.vocab_size} tokens" in caption
    assert "the fall before the blow-up shows too" in caption
    climbing = replace(lstm_run, outcome="diverged", history=(
        event(1, 4.2), event(2, 8.0), replace(event(3, 14.3, grad=90.0), outcome="diverged")))
    said = history_caption(climbing, blowup(climbing))  # learning rate 10: no fall to show
    assert "where it climbs from the first step on" in said and "fall" not in said
    assert said.endswith("(warmup, then cosine decay).")  # 20 steps: warmed up after 2
    long = replace(climbing, train_config=replace(climbing.train_config, steps=300))  # 30 steps' warmup
    assert history_caption(long, blowup(long)).endswith(
        "the learning rate schedule (still warming up when it stopped).")
    # step 30 of a 30-step warmup ran at lr_at(29): the peak, no longer warming up
    at_peak = replace(climbing, train_config=replace(climbing.train_config, steps=300),
                      history=(*climbing.history[:-1], replace(climbing.history[-1], step=30)))
    assert history_caption(at_peak, blowup(at_peak)).endswith("(warmup, then cosine decay).")
    calm = history_caption(lstm_run, None)
    assert f"unigram entropy ({lstm_run.unigram_entropy:.2f} nats here)" in calm
    assert calm.endswith("(warmup, then cosine decay).")  # no overfitting story: it fell
    assert "validation (red) is text it never saw" in calm
    # a GPT at learning rate 0.3 ended at 3.00 nats, the unigram entropy 3.04: "the loss falls as
    # the model learns" and "real words appear" were said beside gibberish
    entropy = lstm_run.unigram_entropy
    stuck = replace(lstm_run, history=(replace(event(1, 4.0), val_loss=4.1),
                                       replace(event(2, entropy), val_loss=0.99 * entropy)))
    assert learned_stage(stuck) == "near"
    assert learned_stage(replace(stuck, history=(replace(event(2, 1.0), val_loss=0.5 * entropy),))) is None
    # far above it (not even that learned yet: learning rate 0.0001 had been promised real words)
    above = replace(stuck, history=(replace(event(2, 4.0), val_loss=1.5 * entropy),))
    assert learned_stage(above) == "above"
    # memorised: it writes its text back, "near" or not
    memorised_run = replace(stuck, history=(replace(event(1, 2.0), val_loss=0.7 * entropy),
                                            replace(event(2, 0.5), val_loss=1.05 * entropy)))
    assert learned_stage(memorised_run) is None and "memorise" in history_caption(memorised_run, None)
    said = history_caption(stuck, None)
    # the entropy's value once: the caption's own sentence on the target gives it already
    assert "It fell while the model trained, but ended near the unigram entropy, the loss of knowing" in said
    assert said.count(f"{entropy:.2f} nats") == 1
    assert said.index("ended near") < said.index("The gradient chart")  # with the loss chart's words
    assert samples_heading("\n", "story", stage="near").endswith(
        "read them from top to bottom: this model's loss ended near a guess from each token's frequency "
        "alone, so they are mostly the text's tokens in about their proportions, before real words and "
        "sentence shapes appear.")
    assert samples_heading("\n", "story", stage="above").endswith(
        "ended above even a guess from each token's frequency alone, so they are still close to random "
        "tokens, well before real words and sentence shapes appear.")
    # word tokens are whole words from the start: only their order can improve
    assert samples_heading("\n\n", "story", tokenizer="word").endswith(
        "read them from top to bottom as the words start to fall into sentence shapes.")
    # cancelled before its first validation: no red line to point at
    unvalidated = replace(lstm_run, history=tuple(replace(e, val_loss=None) for e in lstm_run.history))
    said = history_caption(unvalidated, None)
    assert "validation (red)" not in said and "no validation was measured before it stopped" in said
    assert said.startswith("The loss chart: the training loss, which falls as a model learns;")


def test_figure_blowup() -> None:
    history = [*EVENTS, event(5, 40.0, grad=900.0)]
    fig = figure_blowup(history, 4.2)
    loss = fig.data[0]
    assert list(loss.x) == [1, 2, 3, 4, 5] and list(loss.y) == [4.0, 3.0, 2.5, 2.0, 40.0]
    assert list(loss.customdata)[-1] == 900.0 and fig.layout.yaxis.type == "log"
    shapes = fig.layout.shapes
    assert any(s.y0 == 4.2 for s in shapes)  # the uniform-guess line
    (label,) = [a for a in fig.layout.annotations if "uniform" in a.text]
    assert label.y == pytest.approx(math.log10(4.2))  # on a log axis, in log10 units
    (stop,) = [s for s in shapes if s.x0 == 5]  # where it stopped: not in the validation's red
    assert stop.line.color != VAL_COLOR
    nan = figure_blowup([event(1, math.nan)], 4.2)
    assert list(nan.data[0].y) == [None]


def test_loss_and_grad_figures_still_draw_the_target() -> None:
    fig = figure_loss(EVENTS, target=1.5)
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert list(fig.data[1].x) == [2, 4] and any(s.y0 == 1.5 for s in fig.layout.shapes)
    # the legend sits inside the plot, top right (a falling loss leaves it empty), not beside it
    assert fig.layout.legend.xanchor == "right" and fig.layout.legend.x == 1 and fig.layout.legend.y == 1
    # a validation loss that climbs into that corner (a text learned by heart): the legend above
    rising = [event(1, 3.0, 2.6), event(2, 2.0, 2.26), event(3, 0.5, 4.16)]
    above = figure_loss(rising)
    assert above.layout.legend.orientation == "h" and above.layout.legend.y > 1
    assert above.layout.margin.t > fig.layout.margin.t  # room for it under the title
    # a loss flat at 4.1 above a target of 1.8: the target stretches the axis, so the curves run
    # along its top, where the corner legend had hidden their end
    flat = [event(1, 4.2, 4.1), event(2, 4.1, 4.05), event(3, 4.0, 4.05)]
    assert figure_loss(flat).layout.legend.y == 1 and figure_loss(flat, target=1.8).layout.legend.y > 1
    assert all(a.bgcolor for a in figure_loss(flat, target=1.8).layout.annotations)  # readable over a curve
    figure = figure_grad_lr(EVENTS)
    assert [t.name for t in figure.data] == ["gradient norm", "learning rate"]
    # the rate's axis picks its own round ticks rather than the gradient norm's log grid
    assert figure.layout.yaxis2.tickmode == "auto" and figure.layout.yaxis2.showgrid is False
    # log axes print each tick's value (0.2, 0.3, ...), not its first digit alone (2, 3, ...)
    for axis in (figure.layout.yaxis, figure_blowup(EVENTS, 4.2).layout.yaxis):
        assert axis.type == "log" and axis.tickformat == "~g"


def test_step_axes_tick_at_whole_steps() -> None:
    # a run that diverged at step 3: Plotly's own spacing would be 0.5 (1, 1.5, 2, 2.5, 3)
    short = EVENTS[:3]
    for fig in (figure_loss(short), figure_grad_lr(short), figure_blowup(short, 4.2)):
        assert (fig.layout.xaxis.tick0, fig.layout.xaxis.dtick) == (0, 1)
        assert fig.layout.xaxis.title.text == "step"
    assert step_axis([1]) == {"title": "step", "tick0": 0, "dtick": 1}  # the live chart's first point
    # from a range of about 5 on, Plotly's own spacing is whole: 600 steps keep it (1 would be 600 ticks)
    long = [event(step, 2.0) for step in range(5, 601, 5)]
    for fig in (figure_loss(long), figure_grad_lr(long), figure_blowup(long, 4.2)):
        assert fig.layout.xaxis.dtick is None
    assert step_axis([]) == {"title": "step"}


def test_log_axes_keep_their_tick_labels_apart() -> None:
    # a gradient norm from 0.3 to 5: Plotly ticks every digit ("D1") and prints 0.3, 0.4, ... 0.9
    # in full on top of each other; 1, 2 and 5 times powers of ten ("D2") are readable
    climbing = [event(1, 4.2, grad=0.3), event(2, 6.7, grad=3.6), event(3, 15.4, grad=4.6)]
    assert figure_grad_lr(climbing).layout.yaxis.dtick == "D2"
    assert log_axis([0.3, 4.6], "norm")["dtick"] == "D2"
    assert "dtick" not in log_axis([4.2, 6.7, 15.4], "loss")  # under a decade: Plotly's linear ticks
    assert log_axis([1.0, 1e5], "norm")["dtick"] == 1  # many decades: powers of ten only
    assert log_axis([1.0, 1e12], "norm")["dtick"] == 2
    assert "dtick" not in log_axis([None, math.inf, math.nan, 0.0], "norm")  # nothing finite
    assert log_axis([1e-300, 1e300], "norm")["dtick"] == 100  # no overflow on a huge span
    # the blow-up's axis spans its losses and the uniform guess, which its line stretches it to
    assert figure_blowup([event(1, 0.4), event(2, 0.5)], 4.2).layout.yaxis.dtick == "D2"
    assert figure_blowup(climbing, 4.2).layout.yaxis.dtick is None


def test_figure_blowup_keeps_the_validation_loss() -> None:
    fig = figure_blowup([*EVENTS, event(5, 40.0, grad=900.0)], 4.2)
    assert [t.name for t in fig.data] == ["train loss", "validation loss"]
    assert list(fig.data[1].x) == [2, 4] and fig.data[1].line.color == VAL_COLOR
    assert fig.layout.showlegend and fig.layout.legend.x == 0  # named, top left (the climb is right)
    alone = figure_blowup(EVENTS[:1], 4.2)
    assert [t.name for t in alone.data] == ["train loss"] and not alone.layout.showlegend


def test_steepest_drop_finds_the_largest_fall_between_evaluations() -> None:
    history = [event(1, 3.0, 2.5), event(2, 2.4), event(3, 2.3, 2.3), event(4, 2.2, 1.6),
               event(5, 1.7, math.nan), event(6, 1.5, 1.5)]
    drop = steepest_drop(history)
    assert drop is not None
    assert (drop.step_before, drop.step_after) == (3, 4)
    assert (drop.loss_before, drop.loss_after) == (2.3, 1.6)
    assert steepest_drop([event(1, 3.0, 2.5), event(2, 2.0)]) is None  # one evaluation: no fall
    assert steepest_drop([]) is None


def test_overfitting_is_told_only_when_validation_rose() -> None:
    falling = [event(1, 3.0, 2.5), event(2, 2.0, 2.0), event(3, 1.5, 1.6)]
    assert overfitting(falling) is None and learning_story(falling) == "It fell while the model trained."
    assert learning_story(falling, unigram_entropy=3.0) == "It fell while the model trained."
    stuck = learning_story(falling, unigram_entropy=1.7)  # ended at 1.6: token frequencies only
    assert stuck.startswith("It fell while the model trained, but ended near the unigram entropy (1.70 nats)")
    assert "above the unigram entropy (1.40 nats)" in learning_story(falling, unigram_entropy=1.4)
    once = [event(1, 3.0, 2.5)]  # one evaluation is no fall
    assert learning_story(once, unigram_entropy=2.5).startswith("It ended near the unigram entropy")
    assert learning_story(once) == "It did not fall while the model trained."  # one point: no fall
    assert learning_story([event(1, 3.0), event(2, 2.0, 2.4)]) == "It fell while the model trained."
    broken = [*falling, event(4, 1.5, math.nan)]  # a NaN at the end is not where it ended
    assert learning_story(broken, unigram_entropy=3.0) == "It fell while the model trained."
    rising = [event(1, 3.0, 2.5), event(2, 2.0, 0.75), event(3, 1.0, 0.80), event(4, 0.5, 0.87)]
    found = overfitting(rising)
    assert found is not None and (found.best_step, found.last_step) == (2, 4)
    said = learning_story(rising)
    assert "lowest at step 2 (0.75) and rose to 0.87 by step 4, while the training loss kept falling" in said
    assert "overfitting" in said
    flat = [event(1, 3.0, 1.00), event(2, 2.0, 0.99), event(3, 1.0, 1.005)]  # within 2%: noise
    assert overfitting(flat) is None
    assert overfitting([event(1, 3.0, 2.0)]) is None
    # validation rose but so did the training loss: the training went wrong, it did not memorise
    unstable = [event(1, 3.0, 2.5), event(2, 2.0, 1.9), event(3, 4.0, 3.5)]
    assert overfitting(unstable) is None
    assert overfitting([*unstable[:2], event(3, math.nan, 3.5)]) is None


def test_memorised_is_a_real_rise_from_a_loss_that_learned_something() -> None:
    """The lesson pages' "learned its training text by heart": BPE story's GPT (2.85 to 2.94, a
    book) and a 10-step model at chance (5.16 to 5.34 with ln V = 5.21) were said to have."""
    def run(history: list[Event], vocab: int = 64) -> SimpleNamespace:
        return SimpleNamespace(history=history, model_config=SimpleNamespace(vocab_size=vocab))

    book = [event(1, 4.0, 3.2), event(2, 3.0, 2.85), event(3, 2.5, 2.94)]
    assert overfitting(book) is not None and memorised(run(book)) is None  # 3%: the end's noise
    by_heart = [event(1, 3.0, 2.6), event(2, 2.0, 2.26), event(3, 0.5, 4.16)]
    found = memorised(run(by_heart))
    assert found is not None and (found.best_step, found.best_loss) == (2, 2.26)
    assert memorised(run(by_heart, vocab=8)) is None  # 2.26 above ln 8 = 2.08: it learned nothing


def test_every_built_in_corpus_says_what_its_samples_show() -> None:
    assert set(SAMPLE_SIGNS) == set(corpus_names())
    assert "repeat the words before it" in sample_signs("copy")
    assert sample_signs("upload:1a2b3c4d") == "the samples start to look like the text it trains on"


def test_time_left_goes_by_the_pace_so_far() -> None:
    assert time_left(replace(event(10, 3.0), steps=30, seconds=5.0)) == "about 10 s left"
    assert time_left(replace(event(100, 3.0), steps=600, seconds=30.0)) == "about 2 min left"  # 150 s
    assert time_left(replace(event(30, 3.0), steps=30, seconds=9.0)) == ""  # done
    assert time_left(replace(event(0, 3.0), steps=30, seconds=0.0)) == ""


def test_the_samples_heading_says_what_each_sample_starts_from(story: str) -> None:
    """A word vocabulary of story keeps its blank lines whole, not "\n" (its newlines come in
    runs): the samples start after a blank line; with neither, after the text's first token."""
    train = split_text(story)[0]
    char, word = (train_tokenizer(train, TokenizerConfig(kind, 256)) for kind in ("char", "word"))
    assert sample_start(char, train) == "\n"
    assert "each from the start of a line): read them from top to bottom as real words" in samples_heading(
        sample_start(char, train), "story")
    assert sample_start(word, train) == "\n\n"  # no "\n" alone in its vocabulary: a blank line
    # BPE has a lone "\n" token, seen once in 69,624: samples started from it began mid-word
    bpe = train_tokenizer(train, TokenizerConfig("bpe", 256))
    assert len(bpe.encode("\n").ids) == 1 and sample_start(bpe, train) == "\n\n"
    assert "(temperature 0.8, each after a blank line)" in samples_heading("\n\n", "story")
    flat = "The cat sat. The dog ran. " * 20  # no line break at all
    assert sample_start(train_tokenizer(flat, TokenizerConfig("word", 64)), flat) == "The"
    assert "each after “The”, the text's first token: this tokenizer has no line break token" in (
        samples_heading("The", "story"))
    blown = samples_heading("\n", "story", usable=False)  # early or late: true up to the blow-up
    assert blown.endswith("read them from top to bottom as real words and sentence shapes appear, until the "
                          "training blew up.")


def test_samples_read_as_one_wrapped_line_each() -> None:
    assert samples_block([(60, "the cat\nsat"), (600, "a dog ran")]) == (
        "step  60 │ the cat↵sat\nstep 600 │ a dog ran")
    assert samples_block([]) == ""
    assert samples_block([(5, "a\r\nb\rc")]) == "step 5 │ a↵b↵c"  # an upload's Windows line breaks
