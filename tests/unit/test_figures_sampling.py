"""Next-token bars, the temperature example, generation rows and the sampling figures."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lmviz.figures.sampling import (
    bar_labels,
    figure_next_token,
    generation_html,
    model_heading_html,
    tick_room,
)
from lmviz.figures.style import MUTED, VAL_COLOR, token_color
from lmviz.next_token import (
    mean_log_probability_bits,
    prompt_ids,
    step_rows,
    temperature_example,
    token_bars,
    unknown_picks_note,
)
from lmviz.run import Run
from lmviz.sampling import SamplingConfig, distribution, entropy_bits, generate, softmax

LOGITS = np.array([2.0, -1.0, 0.5, 3.5, 0.0, 1.2, -2.5, 3.4, 0.7, -0.3])
VOCAB = ["a", " ", "\n", "e", "<b>", "t", "x", "s", "\"", "&"]


def test_bars_follow_t1_order_and_match_the_library() -> None:
    config = SamplingConfig(temperature=0.5)
    bars = token_bars(LOGITS, VOCAB, config, top_n=6)
    base = softmax(LOGITS, 1.0)
    assert bars.ids == [3, 7, 0, 5, 8, 2]  # most likely at T = 1 first
    assert bars.pieces == [VOCAB[i] for i in bars.ids]
    np.testing.assert_allclose(bars.base_probs, base[bars.ids])
    np.testing.assert_allclose(bars.probs, distribution(LOGITS, config)[bars.ids])
    assert bars.entropy_bits == pytest.approx(entropy_bits(distribution(LOGITS, config)))
    assert bars.base_entropy_bits == pytest.approx(entropy_bits(base))
    assert bars.entropy_bits < bars.base_entropy_bits  # T < 1 sharpens
    assert not bars.cut.any() and bars.kept == len(LOGITS) == bars.vocab_size


def test_top_k_and_top_p_cuts_are_marked() -> None:
    bars = token_bars(LOGITS, VOCAB, SamplingConfig(temperature=1.0, top_k=3), top_n=10)
    assert bars.cut.tolist() == [False] * 3 + [True] * 7 and bars.kept == 3
    assert bars.probs[:3].sum() == pytest.approx(1.0) and (bars.probs[3:] == 0).all()
    np.testing.assert_allclose(bars.tempered, bars.base_probs)  # T = 1: before the cut = base
    nucleus = token_bars(LOGITS, VOCAB, SamplingConfig(top_p=0.05))
    assert nucleus.kept == 1 and nucleus.cut.sum() == len(LOGITS) - 1
    assert nucleus.entropy_bits == 0.0


def test_greedy_is_one_hot_and_nothing_is_cut() -> None:
    bars = token_bars(LOGITS, VOCAB, SamplingConfig(temperature=0.0))
    assert bars.probs[0] == 1.0 and bars.probs[1:].sum() == 0.0
    assert not bars.cut.any() and bars.kept == 1 and bars.entropy_bits == 0.0


def test_temperature_example_uses_this_inputs_numbers() -> None:
    ex = temperature_example(LOGITS, VOCAB, 0.5)
    assert ex.piece == "e" and ex.logit == 3.5 and ex.scaled == pytest.approx(7.0)
    assert ex.probability == pytest.approx(softmax(LOGITS, 0.5)[3])
    assert ex.base_probability == pytest.approx(softmax(LOGITS, 1.0)[3])
    assert ex.probability > ex.base_probability
    greedy = temperature_example(LOGITS, VOCAB, 0.0)
    assert greedy.scaled is None and greedy.probability == 1.0
    assert greedy.arithmetic() == ""
    said = ex.sentence(5, 40, "e")
    assert said.startswith("The 5 most likely tokens are shown. For the most likely, “e”: z = 3.50, "
                           "z / T = 3.50 / 0.5 = 7.00, and the softmax over all 40 scaled logits gives it "
                           f"p = {ex.probability:.3f} at T = 0.5 against {ex.base_probability:.3f} at T = 1")
    assert "the model's own distribution" in temperature_example(LOGITS, VOCAB, 1.0).sentence(5, 40, "e")
    assert greedy.sentence(5, 40, "e") == ("The 5 most likely tokens are shown. With **T = 0** there is "
                                           "no division: the most likely token “e” (logit z = 3.50) gets "
                                           f"p = 1 (it had p = {greedy.base_probability:.3f} at T = 1).")


def test_the_example_names_the_bar_s_own_probability_once_top_k_and_top_p_cut() -> None:
    """The sentence quoted p before the filters while the bar stood at the rescaled p."""
    config = SamplingConfig(temperature=1.0, top_k=2)
    ex = temperature_example(LOGITS, VOCAB, 1.0, config)
    bar = token_bars(LOGITS, VOCAB, config).probs[0]
    assert ex.final == pytest.approx(bar) and ex.final > ex.probability
    assert ex.sentence(5, 40, "e").endswith(f"so its bar stands at p = {bar:.3f}.")
    unfiltered = temperature_example(LOGITS, VOCAB, 1.0, SamplingConfig(temperature=1.0))
    assert unfiltered.sentence(5, 40, "e").endswith("(before top-k and top-p).")


def test_temperature_arithmetic_divides_the_z_it_shows() -> None:
    logits = np.array([7.756, 1.0, -2.0])  # z / T = 15.512: 15.51, though 7.76 / 0.5 = 15.52
    ex = temperature_example(logits, ["a", "b", "c"], 0.5)
    assert ex.arithmetic() == "z = 7.76, z / T = 7.76 / 0.5 = 15.52"
    assert temperature_example(logits, ["a", "b", "c"], 0.3).arithmetic() == (
        "z = 7.76, z / T = 7.76 / 0.3 = 25.87")


def test_step_rows_and_surprise(lstm_run: Run) -> None:
    result = generate(lstm_run.model, lstm_run.tokenizer, "The ", SamplingConfig(), 8, seed=3)
    rows = step_rows(result.steps, show=lambda p: p.upper())
    assert [r["step"] for r in rows] == list(range(1, 9))
    for row, step in zip(rows, result.steps, strict=True):
        assert row["token"] == step.token.upper() and row["rank"] == step.rank
        assert row["probability"] == step.probability
        assert row["bits of surprise"] == pytest.approx(-math.log2(step.probability))
    expected = np.mean([-math.log2(s.probability) for s in result.steps])
    assert mean_log_probability_bits(result.steps) == pytest.approx(expected)
    assert mean_log_probability_bits([]) is None


def test_greedy_generation_rows_are_all_rank_one(gpt_run: Run) -> None:
    result = generate(gpt_run.model, gpt_run.tokenizer, "a", SamplingConfig(temperature=0.0), 6)
    assert {r["rank"] for r in step_rows(result.steps)} == {1}
    assert {r["probability"] for r in step_rows(result.steps)} == {1.0}


def test_prompt_ids_match_generate(gpt_run: Run, lstm_run: Run) -> None:
    context = gpt_run.model_config.context
    long = "the keeper " * 10
    read = prompt_ids(gpt_run.tokenizer, gpt_run.model_config, long)
    assert read.truncated and len(read.ids) == context
    assert read.ids == gpt_run.tokenizer.encode(long).ids[-context:]
    recurrent = prompt_ids(lstm_run.tokenizer, lstm_run.model_config, long)
    assert not recurrent.truncated and len(recurrent.ids) == len(long)
    empty = prompt_ids(lstm_run.tokenizer, lstm_run.model_config, "")
    assert empty.ids == [lstm_run.tokenizer.unk_id]
    unknown = prompt_ids(lstm_run.tokenizer, lstm_run.model_config, "a€b")
    assert unknown.unknown == 1


def test_bar_labels_show_whitespace_and_escape_html() -> None:
    assert bar_labels([" ", "\n", "<b>", "&", "\""]) == ["␣", "↵", "&lt;b&gt;", "&amp;", "\""]


def test_figure_next_token_traces() -> None:
    bars = token_bars(LOGITS, VOCAB, SamplingConfig(temperature=1.5, top_k=4))
    fig = figure_next_token(bars, 1.5)
    base, chosen, key, cut = fig.data
    # the colored bars' legend entry is a plain key: their own swatch took the first token's color
    assert chosen.showlegend is False and key.legendgroup == chosen.legendgroup
    assert key.marker.color == "#ffffff" and key.name.startswith("T = 1.5, after top-k / top-p")
    assert base.marker.color == MUTED and list(base.y) == pytest.approx(list(bars.base_probs))
    assert list(chosen.y) == pytest.approx(list(bars.probs))
    assert list(chosen.marker.color) == [token_color(i) for i in bars.ids]
    assert list(cut.x) == list(range(4, 10)) and cut.marker.line.color == VAL_COLOR
    assert fig.layout.barmode == "overlay" and chosen.width < base.width
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks[0] == "e" and "&lt;b&gt;" in ticks[6] and VAL_COLOR in ticks[6]
    assert VAL_COLOR not in ticks[3]
    assert fig.layout.yaxis.type != "log"
    assert figure_next_token(bars, 1.5, log_y=True).layout.yaxis.type == "log"


def test_word_labels_are_angled_with_room_and_char_labels_stay_level() -> None:
    chars = token_bars(LOGITS, ["a", " ", "\n", "e", "<unk>", "t", "x", "s", "\"", "&"], SamplingConfig())
    level = figure_next_token(chars, 1.0)
    assert level.layout.xaxis.tickangle == 0 and level.layout.margin.b == 60
    assert level.layout.height == 380
    words = [" the", " keeper", " climbed", " stairs", "and", " a", " of", " to", ".", ","]
    angled = figure_next_token(token_bars(LOGITS, words, SamplingConfig()), 1.0)
    assert angled.layout.xaxis.tickangle == -45
    assert angled.layout.margin.b > 60 + 30  # the drop of '␣climbed' and the axis title
    assert angled.layout.height - angled.layout.margin.b == 320  # the plot keeps its height
    assert tick_room([" climbed"])[1] > tick_room([" the"])[1] > tick_room(["ab"])[1] == 60


def test_figure_next_token_without_cuts_has_no_cut_trace() -> None:
    fig = figure_next_token(token_bars(LOGITS, VOCAB, SamplingConfig()), 1.0)
    assert len(fig.data) == 3 and all("cut" not in (trace.name or "") for trace in fig.data)


def test_generation_html_shades_each_pick_and_escapes_everything(lstm_run: Run) -> None:
    result = generate(lstm_run.model, lstm_run.tokenizer, "The ", SamplingConfig(1.5), 12, seed=1)
    page = generation_html("<b>$x</b>\n", result.steps)
    assert "<b>" not in page and "&lt;b&gt;&#36;x&lt;/b&gt;↵<br>" in page  # prompt escaped, no LaTeX
    assert "\n" not in page  # one HTML block
    assert page.count('title="p = ') == 12
    for step in result.steps:
        assert f'title="p = {step.probability:.3f} · rank {step.rank}"' in page
    sure, unsure = (generation_html("", [replace(result.steps[0], probability=p)]) for p in (1.0, 0.01))
    assert "rgba(37,99,235,0.70)" in sure and "rgba(37,99,235,0.09)" in unsure  # deep = sure
    odd = replace(result.steps[0], token="</span><script>")
    assert "<script>" not in generation_html("", [odd])
    # a carriage return is a line ending to markdown: two would end the HTML block
    returns = generation_html("a\r\r![x](http://example.com/p.png)", [replace(odd, token="\r\r")])
    assert "\r" not in returns and returns.count("␍␍") == 2


def test_model_heading_and_settings_in_words() -> None:
    heading = model_heading_html("GPT <x>", 413568, 2.3561)
    assert heading.startswith("<b>GPT &lt;x&gt;</b> · 413,568 parameters") and "<b>2.36 bits</b>" in heading
    assert "<b>—</b>" in model_heading_html("LSTM", 1, None)
    assert SamplingConfig(0.8, 20, 1.0).describe() == "T = 0.8, top-k 20, top-p off"
    assert SamplingConfig(0.0, 0, 0.9).describe() == "T = 0, top-k off, top-p 0.9"


def test_unknown_picks_are_explained_as_a_real_prediction(lstm_run: Run) -> None:
    assert unknown_picks_note(0, 80, lstm_run) is None
    # a char model of a text with no unknown character: not yet learned, not "a good guess"
    note = unknown_picks_note(1, 80, lstm_run)
    assert note is not None and note.startswith("**1 of the 80 picks is `<unk>`**, the token for anything")
    assert "though this text has none: the model has not yet learned" in note  # not "almost none (0.0%)"
    assert "good guess" not in note and "Vocabulary size" not in note
    hot = unknown_picks_note(1, 60, lstm_run, temperature=2.0)  # T = 2 picked it, T = 1 did not
    assert hot is not None and "at T = 2 the distribution is flattened" in hot and "longer training" not in hot
    few = unknown_picks_note(1, 80, replace(lstm_run, unknown_char_share=0.004))
    assert "almost none (0.4% of the validation text's characters)" in few
    wordy = replace(lstm_run, unknown_char_share=0.28,
                    tokenizer_config=replace(lstm_run.tokenizer_config, kind="word"))
    note = unknown_picks_note(12, 80, wordy)
    assert note is not None and note.startswith("**12 of the 80 picks are `<unk>`**. It is one token")
    assert f"every word outside the {lstm_run.tokenizer.vocab_size}-token vocabulary (28% of" in note
    assert "A larger Vocabulary size" in note
    assert "<unk>" not in note.replace("`<unk>`", "")  # markdown would take a bare one for a tag


def test_a_picked_space_shows_as_a_dot_and_the_prompt_s_spaces_stay(lstm_run: Run) -> None:
    """A shaded blank read as a missing letter: a token of spaces shows one · per space; spaces
    inside a word's token and the prompt's stay spaces."""
    step = generate(lstm_run.model, lstm_run.tokenizer, "The ", SamplingConfig(1.0), 1, seed=1).steps[0]
    page = generation_html("a b", [replace(step, token=" "), replace(step, token="  "),
                                   replace(step, token=" the")])
    assert page.count(">·</span><wbr>") == 1 and page.count(">··</span><wbr>") == 1  # may wrap there
    assert "> the</span>" in page and ">a b</span>" in page


def test_tokens_that_can_be_picked_and_those_likely_to_be() -> None:
    """'67 of 67' sat beside p = 1.000 at T = 0.05: every token has p above 0, few above 0.001."""
    cold = token_bars(np.array([10.0, 0.0, 0.0]), ["a", "b", "c"], SamplingConfig(0.05))
    assert (cold.kept, cold.likely) == (3, 1)
    warm = token_bars(np.array([1.0, 0.0, 0.0]), ["a", "b", "c"], SamplingConfig(1.0))
    assert (warm.kept, warm.likely) == (3, 3)


def test_the_worked_example_names_only_the_filters_that_are_on() -> None:
    """"Top-k and top-p then drop the tail" was said with top-k off."""
    logits = np.array([3.0, 1.0, 0.5, 0.2])
    said = {config: temperature_example(logits, list("abcd"), 2.0, config).sentence(4, 4, "a")
            for config in (SamplingConfig(2.0, 0, 0.5), SamplingConfig(2.0, 2, 1.0), SamplingConfig(2.0, 2, 0.5))}
    top_p, top_k, both = said.values()
    assert ". Top-p then drops the tail and shares its probability" in top_p
    assert ". Top-k then drops the tail and shares its probability" in top_k
    assert ". Top-k and top-p then drop the tail and share its probability" in both
