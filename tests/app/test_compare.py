"""The side-by-side page (/compare): the LSTM's memory split by step beside the GPT's attention."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from lmviz.presets import CORPUS_PROMPTS
from tests.app.apptest import open_app_page

TINY = {"steps": "20", "hidden_size": "32"}  # trains in seconds: for settings that ship no run


def open_page(**params: str) -> AppTest:
    return open_app_page("pages/compare.py", **params)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def test_default_page_sets_the_two_models_side_by_side() -> None:
    at = open_page()
    assert len(charts(at)) == 4  # memory map, attention map, the two rows, distance back
    last = len(CORPUS_PROMPTS["story"]) - 1
    assert at.select_slider(key="cmp_token").value == last
    assert at.selectbox(key="cmp_layer").disabled  # a one-layer LSTM
    assert at.selectbox(key="cmp_head").value == -1  # the mean of the heads
    shown = metrics(at)
    assert set(shown) == {"LSTM: tokens back", "LSTM: on the last 3 tokens", "GPT: tokens back",
                          "GPT: on the last 3 tokens"}
    assert all(0 <= float(value) <= last for label, value in shown.items() if "tokens back" in label)
    exact = next(c.value for c in at.caption if "The split is exact" in c.value)
    assert "largest difference" in exact and "e-0" in exact
    assert [len(table.value) for table in at.dataframe] == [5, 5]  # each one's five likeliest tokens
    assert "LSTM: who wrote the cell state" in charts(at)[0] and "GPT: layer 1, mean of its heads" in charts(at)[1]


def test_moving_the_token_and_the_head_changes_the_rows() -> None:
    at = open_page()
    before = metrics(at)
    at.select_slider(key="cmp_token").set_value(2).run()
    assert not at.exception
    after = metrics(at)
    assert after != before and float(after["LSTM: tokens back"]) <= 2
    said = next(c.value for c in at.caption if "The prompt goes on with" in c.value)
    assert "the LSTM" in said and "the GPT" in said  # the prompt's own next token, as each rated it
    at.selectbox(key="cmp_head").set_value(1).run()
    at.selectbox(key="cmp_gpt_layer").set_value(0).run()
    assert not at.exception and "GPT: layer 0, head 1" in charts(at)[1]
    at.select_slider(key="cmp_token").set_value(0).run()  # the first token: nothing before it
    assert not at.exception
    assert metrics(at)["GPT: tokens back"] == "0.0" and metrics(at)["LSTM: on the last 3 tokens"] == "100%"


@pytest.mark.parametrize(("model", "recurrent"), [("gru", "GRU"), ("rnn", "LSTM"), ("gpt", "LSTM")])
def test_the_sidebar_family_picks_the_recurrent_side(model: str, recurrent: str) -> None:
    at = open_page(model=model, **TINY)
    assert not at.exception
    assert f"{recurrent}: tokens back" in metrics(at)
    memory = "hidden state" if recurrent == "GRU" else "cell state"
    assert f"{recurrent}: who wrote the {memory}" in charts(at)[0]
    if model != "gru":
        assert any("this page sets an LSTM beside the GPT" in c.value for c in at.caption)


def test_bpe_tokens() -> None:
    at = open_page(tokenizer="bpe", vocab_size="300", **TINY)
    assert not at.exception and len(charts(at)) == 4


def test_empty_one_token_and_unknown_prompts() -> None:
    at = open_page()
    at.text_area(key="prompt").set_value("").run()
    assert not at.exception and not charts(at)
    assert any("prompt is empty" in w.value for w in at.warning)
    at.text_area(key="prompt").set_value("T").run()  # one token: no slider, nothing before it
    assert not at.exception and not at.main.select_slider and len(charts(at)) == 4
    assert metrics(at)["LSTM: tokens back"] == "0.0"
    at.text_area(key="prompt").set_value("The ✓ keeper").run()  # a character the corpus lacks
    assert not at.exception and len(charts(at)) == 4
    assert sum("<unk>" in i.value for i in at.info) == 1  # said once, not once per model


def test_the_copy_lesson_opens_on_the_copy_head() -> None:
    """The shipped copy lesson's induction head (layer 1, head 1) reaches back a span's length on
    a span's second copy, where the LSTM's memory sits a few steps back."""
    at = open_page()
    at.button(key="cmp_to_copy").click().run()
    assert not at.exception and at.session_state["corpus"] == "copy"
    assert (at.selectbox(key="cmp_gpt_layer").value, at.selectbox(key="cmp_head").value) == (1, 1)
    said = next(c.value for c in at.caption if "The copy lesson" in c.value)
    assert "copy head (layer 1, head 1" in said and "3,000 steps at learning rate 0.001" in said
    assert "the LSTM 3,000 steps at learning rate 0.001" in said  # the same budget, as trained
    gpt_back, lstm_back = (float(x) for x in re.findall(r"(\d+\.\d) tokens back on average and the LSTM's (\d+\.\d)", said)[0])
    assert gpt_back > 2 * lstm_back  # computed on the repeated tokens of this prompt
    assert "cmp_to_copy" not in [b.key for b in at.button]
    # it opens on the token where the GPT's copying shows most: the space before the second "kqz"
    assert at.select_slider(key="cmp_token").value == 29
    gave = next(c.value for c in at.caption if "The prompt goes on with k:" in c.value)
    lstm_p, gpt_p = (float(x) for x in re.findall(r"the LSTM (\d\.\d+) and the GPT (\d\.\d+)", gave)[0])
    assert gpt_p > 0.9 and lstm_p < 0.1
    shown = metrics(at)
    gpt_here, lstm_here = float(shown["GPT: tokens back"]), float(shown["LSTM: tokens back"])
    assert gpt_here > 10 and gpt_here > 2 * lstm_here  # trained as long, the LSTM's memory fades
    at.text_area(key="prompt").set_value("abc").run()  # nothing repeats: no copy sentence
    assert not at.exception and not any("The copy lesson" in c.value for c in at.caption)


def test_a_prompt_longer_than_the_context_is_cut_once_for_both() -> None:
    at = open_page(prompt="the keeper climbed " * 6)  # 114 characters: over the context of 64
    assert not at.exception and len(charts(at)) == 4
    (cut,) = [i.value for i in at.info if "longer than the model's context" in i.value]
    assert "the LSTM reads only that end too" in cut  # not the GPT alone
    assert at.select_slider(key="cmp_token").value == 63


def test_a_gru_is_introduced_as_a_gru() -> None:
    at = open_page(model="gru", **TINY)
    intro = at.markdown[0].value
    assert "GRU cannot look back" in intro and "update gate z" in intro and "forget" not in intro
    rows = next(m.value for m in at.markdown if m.value.startswith("Different things."))  # folded
    assert "LSTM" not in intro + rows and "The GRU's row: where" in rows
