"""The sampling page (/sampling): next-token bars, the stepper, and LSTM vs GPT side by side."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lmviz.next_token import step_rows
from lmviz.presets import View
from lmviz.sampling import Step
from lmviz.ui.generation import COMPARE_TOKENS, STEP_COLUMNS
from lmviz.ui.state import NO_TEXT_YET
from tests.app.apptest import open_app_page


def open_page(state: dict | None = None, **params: str) -> AppTest:
    return open_app_page('pages/sampling.py', state, **params)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def texts(at: AppTest) -> list[str]:
    """The generated texts as the page draws them (escaped HTML, one span per picked token):
    the LSTM's and the GPT's (under a heading), then the stepper's when it has one."""
    return [m.value for m in at.main.markdown if 'class="lmviz-generation"' in m.value]


def compared(at: AppTest) -> list[str]:
    return [t for t in texts(at) if t.startswith("<div><b>")]


def stepped(at: AppTest) -> str:
    (text,) = [t for t in texts(at) if not t.startswith("<div><b>")]
    return text


def picks(text: str) -> int:
    return text.count('title="p = ')


def steps_table(at: AppTest):
    return at.dataframe[0].value  # the stepper's table comes before the comparison's


def test_temperature_comes_from_the_link_and_charts_render() -> None:
    at = open_page(temperature="0.3")
    assert at.slider(key="temperature").value == pytest.approx(0.3)
    assert at.slider(key="temperature").label == "Temperature"
    assert at.slider(key="top_k").value == 0 and at.slider(key="top_p").value == 1.0
    assert len(at.get("plotly_chart")) == 1  # the next-token bars
    assert metric(at, "Tokens that can be picked") == "67 of 67"
    sharp = float(metric(at, "Entropy at these settings").split()[0])
    base = float(metric(at, "The model's own entropy").split()[0])
    assert sharp <= base  # T < 1 sharpens
    assert any("divides the logits before the softmax" in c.value for c in at.caption)
    line = next(m.value for m in at.markdown if "z / T" in m.value and "/ 0.3 =" in m.value)
    z, t, quotient = re.search(r"z / T = (-?[\d.]+) / ([\d.]+) = (-?[\d.]+)", line).groups()
    assert f"{float(z) / float(t):.2f}" == quotient  # the division checks out on the z shown
    both = compared(at)  # the LSTM's and the GPT's continuations
    assert len(both) == 2 and all(picks(t) == COMPARE_TOKENS for t in both)
    assert all(f">{View().prompt}</span>" in t for t in both)
    assert "<b>LSTM</b>" in both[0] and "<b>GPT (transformer)</b>" in both[1]
    assert all("average surprise <b>" in t for t in both)
    assert any("LSTM" in m.value for m in at.markdown) and any("GPT" in m.value for m in at.markdown)

    at.slider(key="temperature").set_value(2.0).run()  # only the sampling changes
    assert not at.exception
    flat = float(metric(at, "Entropy at these settings").split()[0])
    assert flat > base and float(metric(at, "The model's own entropy").split()[0]) == base


def test_stepper_grows_the_same_text_and_resets() -> None:
    at = open_page()
    assert any("Press **Next token**" in i.value for i in at.info)
    at.button(key="sampling_next").click().run()
    assert not at.exception and at.session_state["sampling_count"] == 1
    one = stepped(at)
    assert len(steps_table(at)) == 1
    at.button(key="sampling_next").click().run()
    two = stepped(at)
    assert two.startswith(one.removesuffix("</div>")) and picks(one) == 1 and picks(two) == 2  # same seed
    at.number_input(key="sampling_n").set_value(200).run()
    at.button(key="sampling_generate").click().run()
    assert not at.exception and at.session_state["sampling_count"] == 200  # capped
    table = steps_table(at)
    assert len(table) == 200 and stepped(at).startswith(two.removesuffix("</div>"))
    assert picks(stepped(at)) == 200
    assert table["rank"].min() >= 1 and table["probability"].between(0, 1).all()
    assert any("stops at 200 tokens" in c.value for c in at.caption)
    label = f"Sampled by the LSTM at T = {View().temperature:g}, top-k off, top-p off, seed 0"
    assert any(c.value.startswith(label) for c in at.caption)  # the settings the text came from
    at.slider(key="top_k").set_value(5).run()
    assert any(c.value.startswith(f"Sampled by the LSTM at T = {View().temperature:g}, top-k 5,")
               for c in at.caption) and picks(stepped(at)) == 200
    # the whole text, not the next token, was sampled with the new setting: said
    assert any(i.value.startswith("The settings changed since the last click") for i in at.info)
    at.button(key="sampling_next").click().run()  # capped, same settings: nothing to say
    assert not any(i.value.startswith("The settings changed") for i in at.info)
    at.button(key="sampling_reset").click().run()
    assert at.session_state["sampling_count"] == 0
    assert any("Press **Next token**" in i.value for i in at.info)


def test_greedy_picks_rank_one_every_time() -> None:
    at = open_page(temperature="0")
    assert metric(at, "Tokens that can be picked") == "1 of 67"
    assert metric(at, "Entropy at these settings") == "0.00 bits"
    at.number_input(key="sampling_n").set_value(15).run()
    at.button(key="sampling_generate").click().run()
    table = steps_table(at)
    assert len(table) == 15 and set(table["rank"]) == {1} and set(table["probability"]) == {1.0}
    # the rank among what the settings leave, not "of 67"
    assert any(m.value.startswith("Step 15 picked") and m.value.endswith(
        "(the only token these settings leave a chance).") for m in at.markdown)
    assert any("With **T = 0**" in m.value for m in at.markdown)
    at = open_page(top_k="3")
    at.button(key="sampling_next").click().run()
    assert any(re.search(r"^Step 1 picked .* \(rank [123] of the 3 tokens these settings leave a chance\)\.$",
                         m.value) for m in at.markdown)


def test_extreme_top_k_and_top_p_cut_the_tail() -> None:
    at = open_page(temperature="2", top_k="1")
    assert metric(at, "Tokens that can be picked") == "1 of 67"
    at = open_page(top_k="200", top_p="0.05")
    assert metric(at, "Tokens that can be picked") == "1 of 67"
    at.slider(key="top_p").set_value(1.0).run()
    assert metric(at, "Tokens that can be picked") == "67 of 67"
    at.toggle(key="sampling_log").set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_gpt_model_reads_only_the_end_of_a_long_prompt() -> None:
    prompt = "x = f([a, (b, {c: 1}), \"d\"])" * 4  # 120 characters > the GPT's 64
    at = open_page(model="gpt", corpus="brackets", prompt=prompt)
    assert any("GPT" in s.value for s in at.subheader)
    assert any("longer than the model's context (64 tokens)" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1 and len(compared(at)) == 2


def test_empty_prompt_shows_a_message() -> None:
    at = open_page(state={"prompt": "   "})
    assert any("prompt is blank (only spaces, tabs or line breaks)" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 0


def test_html_in_the_prompt_is_shown_as_text() -> None:
    at = open_page(state={"prompt": "<b>x</b><script>alert(1)</script>"})
    assert not at.exception
    assert any("<unk>" in i.value for i in at.info)  # < and > are not in the story's characters
    assert all("<script>" not in m.value for m in at.markdown)  # never raw HTML in markdown
    shown = compared(at)
    assert len(shown) == 2 and all("&lt;b&gt;x&lt;/b&gt;&lt;script&gt;" in t for t in shown)


def test_comparison_tables_on_request_match_the_shaded_text() -> None:
    at = open_page(temperature="1.3")
    assert len(at.dataframe) == 0  # the stepper is empty and the tables are off
    at.toggle(key="sampling_compare_tables").set_value(True).run()
    assert not at.exception and len(at.dataframe) == 2
    for table, text in zip((d.value for d in at.dataframe), compared(at), strict=True):
        assert len(table) == COMPARE_TOKENS and table["rank"].min() >= 1
        hovers = [f'title="p = {p:.3f} · rank {r}"' for p, r in zip(table["probability"], table["rank"],
                                                                     strict=True)]
        assert all(h in text for h in hovers)  # the same picks, probabilities and ranks


def test_the_page_shows_the_link_with_its_settings_and_the_sidebar_points_to_it() -> None:
    """The settings rerun a fragment that leaves the sidebar alone: the link lives on the page."""
    at = open_page()
    assert not at.sidebar.code and any("link to this view is on the page" in c.value for c in at.sidebar.caption)
    at.slider(key="temperature").set_value(1.4).run()
    at.slider(key="top_k").set_value(12).run()
    links = [c.value for c in at.main.code]
    assert len(links) == 1 and "temperature=1.4" in links[0] and "top_k=12" in links[0]


def test_the_comparison_says_its_settings_and_generates_again_on_request() -> None:
    at = open_page(temperature="0", top_k="7")
    assert any("here at T = 0, top-k 7, top-p off, seed 0" in c.value for c in at.caption)
    greedy = compared(at)
    at.button(key="sampling_compare_generate").click().run()
    assert not at.exception and compared(at) == greedy  # greedy: every draw is the same text
    assert any(c.value.startswith("At these settings only one token has a chance at each step") and
               c.value.endswith("raise the temperature to see draws differ.") for c in at.caption)
    assert any("seed 0, draw 1 (draw=1 in the link)" in c.value for c in at.caption)
    assert at.query_params["draw"] == "1" and "draw=1" in at.main.code[0].value  # the page's link
    at.slider(key="temperature").set_value(1.5).run()
    assert any("here at T = 1.5, top-k 7, top-p off" in c.value for c in at.caption)
    assert not any(c.value.startswith("At these settings only one token") for c in at.caption)
    second = compared(at)
    at.button(key="sampling_compare_generate").click().run()
    assert not at.exception and compared(at) != second  # a new draw at T = 1.5: new text
    assert any("draw 2 (draw=2 in the link)" in c.value for c in at.caption)
    fresh = open_page(temperature="1.5", top_k="7")  # draws are reproducible: a new visitor's draw 1
    fresh.button(key="sampling_compare_generate").click().run()
    fresh.button(key="sampling_compare_generate").click().run()
    assert compared(fresh) == compared(at)
    linked = open_page(temperature="1.5", top_k="7", draw="2")  # the link opens that draw itself
    assert compared(linked) == compared(at) and any("draw 2" in c.value for c in linked.caption)


def test_a_blown_up_training_is_said_once_per_model() -> None:
    """The next-token part, the comparison and the stepper all need the run: a diverged one is
    said once for the page's model, and once for the other model of the comparison."""
    at = open_page(lr="3", clip="0")
    said = [e.value for e in at.error]
    assert len(said) == 2 and all("diverged" in s and "learning rate 3, clipping off" in s for s in said)
    assert said[0].startswith("Training the LSTM") and said[1].startswith("Training the GPT")
    assert len(at.get("plotly_chart")) == 0 and compared(at) == []


def test_the_step_tables_fit_side_by_side_on_a_desktop() -> None:
    """Every column of a generation table has a pixel width, and together they fit half of a
    desktop's main area (about 460 px), where the default widths cut off the last column."""
    step = Step("a", 0, 0.5, 1, [], np.zeros(1), np.ones(1))
    columns = step_rows([step])[0].keys()
    assert set(columns) == set(STEP_COLUMNS)
    assert sum(STEP_COLUMNS[name]["width"] for name in columns) <= 460


def test_a_diverged_gpt_leaves_the_lstm_s_column() -> None:
    """Each model trains at the page's top level (not in a fragment); where the sidebar's GPT
    blows up, the LSTM beside it is still trained and shown, and each is said once."""
    at = open_page(model="gpt", lr="1", hidden_size="16", steps="20", seed="7")
    said = [e.value for e in at.error]
    assert len(said) == 1 and said[0].startswith("Training the GPT") and "diverged" in said[0]
    assert len(compared(at)) == 1 and "LSTM" in compared(at)[0]
    assert len(at.get("plotly_chart")) == 0  # the GPT's next-token bars need the GPT


def test_without_a_text_the_page_asks_for_one_once() -> None:
    at = open_page(corpus="upload")
    assert [i.value for i in at.info].count(NO_TEXT_YET) == 1
    assert compared(at) == []
    assert not [w for w in at.warning if "not in the link" in w.value]  # no text: nothing left out


def test_a_text_too_short_to_train_on_is_said_once_not_per_model() -> None:
    """The recurrent model and the GPT of one text fail alike: one message, not two."""
    at = open_app_page("pages/sampling.py", corpus="upload")
    at.text_area(key="lmviz_upload_paste").input("A text of fifty characters, give or take a few.").run()
    assert not at.exception
    short = [w.value for w in at.main.warning if w.value.startswith("Too short to train on")]
    assert len(short) == 1 and not at.error  # no training started: it could only fail


def test_generate_again_after_the_last_draw_a_link_can_carry_starts_over() -> None:
    """It stayed at draw 9999 and showed the same text on every press."""
    at = open_page(temperature="1.5", draw="9999")
    last = compared(at)
    at.button(key="sampling_compare_generate").click().run()
    assert not at.exception and "draw" not in at.query_params  # draw 0, the default
    assert compared(at) != last and compared(at) == compared(open_page(temperature="1.5"))


def test_unknown_picks_of_a_word_model_are_explained() -> None:
    """A 256-word vocabulary leaves a quarter of story outside it: the models pick <unk> often,
    and the page says what that token is."""
    at = open_page(tokenizer="word", steps="40", hidden_size="32", seed="3")
    assert not at.exception
    notes = [i.value for i in at.info if "picks are `<unk>`" in i.value]
    assert len(notes) == 1 and "every word outside the 256-token vocabulary" in notes[0]
