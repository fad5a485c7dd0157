"""The recurrent-gates page (/lstm): heatmaps, the timestep stepper, equations, bracket probes."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lmviz.corpora import load_corpus
from lmviz.models import GATE_NAMES
from lmviz.presets import CORPUS_PROMPTS, View, configs
from lmviz.run import run_key
from lmviz.ui.lesson_runs import CANCELLED_KEY
from lmviz.ui.state import _shared_store
from tests.app.apptest import open_app_page


def open_page(**params: str) -> AppTest:
    return open_app_page('pages/lstm.py', **params)


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def test_default_page_steps_and_equations() -> None:
    at = open_page()
    assert charts(at) == 7  # six gate heatmaps + one unit's cell state
    assert at.title[0].value == "3 · LSTM gates — memory, one step at a time"  # as the navigation says
    for model, words in (("gru", "GRU gates"), ("rnn", "RNN state")):  # the model it shows, not "LSTM gates"
        assert open_page(model=model, steps="10").title[0].value == f"3 · {words} — memory, one step at a time"
    assert at.subheader[0].value == "Every gate, every token — LSTM, layer 0"
    # one row of two columns per pair of gates: columns stack in document order at phone width,
    # and that order must be the gates' own (i, f, g, o, c, h), not column by column (i, g, c, ...)
    stacked = [[chart.proto.id for chart in column.get("plotly_chart")] for column in at.columns
               if column.get("plotly_chart")]
    assert len(stacked) == len(GATE_NAMES["lstm"]) and all(len(ids) == 1 for ids in stacked)
    assert all(ids[0].endswith(f"-lstm_heat_{name}")
               for ids, name in zip(stacked, GATE_NAMES["lstm"], strict=True))
    latex = at.latex[0].value
    assert r"i_t &= \sigma(W_{ii} x_t" in latex and r"h_t &= o_t \odot \tanh(c_t)" in latex
    assert at.button(key="lstm_prev").disabled and at.session_state["lstm_t"] == 0
    said = " ".join(m.value for m in at.markdown)
    assert "At step 0 there is no past yet" in said and "the memory's part (W h + b), here only its bias." in said and r"0.0000" in latex  # c_{t-1} = 0 at step 0
    assert "σ is the sigmoid" in said
    unit_line = next(c.value for c in at.caption if "along the prompt" in c.value)
    assert "forgetting (f = " in unit_line and "writing (i·g)" in unit_line  # the biggest change, split

    at.button(key="lstm_next").click().run()
    assert not at.exception and at.session_state["lstm_t"] == 1
    assert "no past yet" not in " ".join(m.value for m in at.markdown)
    assert at.select_slider(key="lstm_step").value == 1 and at.latex[0].value != latex
    # the same arrows by the equations (on a phone the ones above are far): back, then on again
    at.button(key="lstm_prev_eq").click().run()
    assert not at.exception and at.session_state["lstm_t"] == 0 and at.button(key="lstm_prev_eq").disabled
    at.button(key="lstm_next_eq").click().run()
    assert at.session_state["lstm_t"] == 1 and at.select_slider(key="lstm_step").value == 1

    last = len(CORPUS_PROMPTS["story"]) - 1
    at.select_slider(key="lstm_step").set_value(last).run()
    assert not at.exception and at.button(key="lstm_next").disabled and at.button(key="lstm_next_eq").disabled
    for unit in (0, 127):
        at.number_input(key="lstm_unit").set_value(unit).run()
        assert not at.exception
        assert any(f"unit {unit} of layer 0" in m.value for m in at.markdown)


def test_play_advances_and_stops_at_the_end() -> None:
    at = open_page()
    at.button(key="lstm_play").click().run()
    assert at.button(key="lstm_play").label.endswith("Pause")
    assert not at.main.select_slider and "step 0 (steps" in at.get("progress")[0].proto.text  # shows the start
    at.run()  # a tick of the timer
    assert "step 1 (steps" in at.get("progress")[0].proto.text and at.session_state["lstm_t"] == 1
    last = len(CORPUS_PROMPTS["story"]) - 1
    at.session_state["lstm_t"] = last - 2
    at.run()
    assert f"step {last - 1} (steps 0–{last})," in at.get("progress")[0].proto.text  # from 0
    at.run()
    assert not at.exception
    assert at.session_state["lstm_playing"] is False and at.button(key="lstm_play").label.endswith("Play")
    assert at.select_slider(key="lstm_step").value == last  # stopped on the last token
    at.button(key="lstm_play").click().run()  # play at the end starts over
    assert "step 0 (steps" in at.get("progress")[0].proto.text and at.session_state["lstm_playing"]
    at.run()
    at.button(key="lstm_play").click().run()  # pause: the slider stays on the token shown
    assert at.select_slider(key="lstm_step").value == 1 and not at.session_state["lstm_playing"]


def test_brackets_switch_and_correlated_units() -> None:
    at = open_page()
    assert any("brackets" in i.value for i in at.info)
    at.button(key="lstm_to_brackets").click().run()
    assert not at.exception
    assert at.session_state["corpus"] == "brackets"
    assert at.session_state["prompt"] == CORPUS_PROMPTS["brackets"]
    assert at.query_params["corpus"] == "brackets"  # the link follows: a classmate sees the same
    assert charts(at) == 9  # + correlation bars + the chosen unit against the measure
    assert at.radio(key="lstm_measure").value == "bracket depth"
    options = at.selectbox(key="lstm_probe_unit").options
    assert len(options) == 8 and "r = " in options[0]

    chosen = int(options[1].split()[1])
    at.selectbox(key="lstm_probe_unit").set_value(chosen).run()
    at.button(key="lstm_probe_to_unit").click().run()
    assert not at.exception and at.number_input(key="lstm_unit").value == chosen
    assert [t.value for t in at.toast] == [f"Unit {chosen} is now the unit in the equations above."]

    at.radio(key="lstm_measure").set_value("position in word").run()
    assert not at.exception and charts(at) == 9


def test_gpt_in_the_sidebar_still_shows_an_lstm() -> None:
    at = open_page()
    at.selectbox(key="model").set_value("gpt").run()
    assert not at.exception and charts(at) == 7
    assert any("this page shows an LSTM" in c.value for c in at.caption)


@pytest.mark.parametrize(("family", "heatmaps"), [("gru", 4), ("rnn", 1)])
def test_gru_and_rnn_show_their_own_gates(family: str, heatmaps: int) -> None:
    at = open_page(model=family, hidden_size="16", steps="20", prompt="(a [b] c)")
    assert charts(at) == heatmaps + 1
    every = "state" if family == "rnn" else "gate"  # a vanilla RNN has no gates
    assert at.subheader[0].value.startswith(f"Every {every}, every token — ")
    assert at.latex and "h_t" in at.latex[0].value
    said = " ".join(m.value for m in at.markdown)
    assert ("σ" in said) == ("⊙" in said) == (family == "gru")  # an RNN's equation has neither
    assert not any("forgetting (f = " in c.value for c in at.caption)  # the split is the LSTM's
    if family == "gru":
        assert "z_t" in at.latex[0].value and "r_t" in at.latex[0].value


def test_two_layers_get_a_layer_selector() -> None:
    at = open_page(layers="2", hidden_size="16", steps="20", prompt="ab ab")
    assert at.selectbox(key="lstm_layer").options == ["layer 0 (reads the embeddings)",
                                                      "layer 1 (reads layer 0)"]
    at.selectbox(key="lstm_layer").set_value(1).run()
    assert not at.exception and "of layer 1" in " ".join(m.value for m in at.markdown)


def test_bad_prompts() -> None:
    at = open_page()
    at.text_area(key="prompt").set_value("   ").run()
    assert not at.exception and any("prompt is blank (only spaces, tabs or line breaks)" in w.value for w in at.warning)
    assert charts(at) == 0

    at.text_area(key="prompt").set_value("<b>x</b><script>").run()
    assert not at.exception
    chips = next(m.value for m in at.markdown if "lmviz-chips" in m.value)
    assert "&lt;" in chips and "<script>" not in chips and "<b>" not in chips

    at.text_area(key="prompt").set_value("x" * 500).run()  # the longest prompt: no truncation needed
    assert not at.exception and charts(at) == 7


def test_a_cancelled_training_waits_to_be_asked_again() -> None:
    """After Cancel (an e2e test presses it), the rerun the click causes must not start the
    training again: the page says so and trains only when asked."""
    view = View(hidden_size=16, steps=20, seed=5)
    key = run_key(load_corpus(view.corpus), *configs(view, "lstm"))
    _shared_store().runs.pop(key, None)  # trained below: a second pass in this process finds it
    at = open_app_page("pages/lstm.py", state={CANCELLED_KEY: {key}}, hidden_size="16", steps="20", seed="5")
    assert charts(at) == 0
    note = " ".join(i.value for i in at.info)
    assert "You cancelled training the LSTM" in note and "hidden size 16, steps 20, seed 5" in note
    # hidden 16 is the smallest: only the Training page's steps 20 can be made smaller
    assert "choose smaller settings in the sidebar: **Reset the training settings**" in note
    assert "Hidden size below" not in note
    at.button(key=f"lesson-train-{key}").click().run()
    assert not at.exception and charts(at) == 7
    assert not any("You cancelled" in i.value for i in at.info)
