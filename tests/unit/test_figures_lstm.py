"""Recurrent step maths (against the trace), gate figures, LaTeX equations, token labels."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from lmviz.figures.labels import (
    current_token_html,
    short_labels,
    token_axis,
)
from lmviz.figures.lstm import (
    NOTES,
    equations_latex,
    figure_correlations,
    figure_gate_heatmap,
    figure_unit_line,
    gate_title,
    unit_line_caption,
    unit_line_words,
)
from lmviz.figures.style import DIVERGING_SCALE, GATE_SCALE
from lmviz.lstm_math import StepError, most_varying_unit, recurrent_step, step_values
from lmviz.models import GATE_NAMES, ModelConfig, RecurrentLM, build_model
from lmviz.run import Run
from lmviz.text import counted, markdown_text

IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]


def untrained(family: str, layers: int = 1) -> RecurrentLM:
    torch.manual_seed(0)
    model = build_model(ModelConfig(family=family, vocab_size=12, embed_size=6, hidden_size=5,
                                    layers=layers, context=16))
    return model.eval()


def assert_reproduces(model: RecurrentLM, ids: list[int]) -> None:
    trace = model.trace(ids)
    for layer, values in enumerate(trace.layers):
        length, units = values["hidden_state"].shape
        for t in range(length):
            for unit in range(units):
                step = recurrent_step(model, trace, layer, unit, t)
                for name, value in step_values(step).items():
                    assert value == pytest.approx(float(values[name][t, unit]), abs=1e-5), (name, t, unit)


def test_lstm_step_reproduces_trained_trace(lstm_run: Run) -> None:
    assert_reproduces(lstm_run.model, lstm_run.tokenizer.encode("The keeper (and) climbed.").ids)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_step_reproduces_every_family_and_layer(family: str) -> None:
    assert_reproduces(untrained(family, layers=2), IDS)


def test_lstm_step_parts_add_up(lstm_run: Run) -> None:
    trace = lstm_run.model.trace(lstm_run.tokenizer.encode("stairs").ids)
    step = recurrent_step(lstm_run.model, trace, 0, 3, 2)
    for gate in step.gates.values():
        assert gate.pre_activation == pytest.approx(gate.input_part + gate.hidden_part)
    assert step.c_prev == pytest.approx(float(trace.layers[0]["cell_state"][1, 3]))
    assert step.h_prev == pytest.approx(float(trace.layers[0]["hidden_state"][1, 3]))
    first = recurrent_step(lstm_run.model, trace, 0, 3, 0)
    assert first.c_prev == 0.0 and first.h_prev == 0.0


def test_step_rejects_out_of_range() -> None:
    model = untrained("lstm")
    trace = model.trace(IDS)
    for layer, unit, t in [(1, 0, 0), (0, 5, 0), (0, 0, len(IDS)), (0, -1, 0)]:
        with pytest.raises(StepError):
            recurrent_step(model, trace, layer, unit, t)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_equations_show_the_step_numbers(family: str) -> None:
    model = untrained(family)
    step = recurrent_step(model, model.trace(IDS), 0, 2, 4)
    latex = equations_latex(step)
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    assert f"{step.h:.4f}" in latex
    for gate in step.gates.values():
        assert f"{gate.value:.4f}" in latex
        assert f"{abs(gate.pre_activation):.4f}" in latex
    if family == "lstm":
        assert r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t" in latex and f"{step.c:.4f}" in latex
    assert set(NOTES[family]) == set(GATE_NAMES[family])


def test_gate_heatmap_scales_and_marker() -> None:
    values = np.random.default_rng(0).uniform(0, 1, (30, 8))
    fig = figure_gate_heatmap(values, short_labels(list("a" * 30)), "forget_gate", current=7)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (8, 30)  # units × timesteps
    assert heat.zmin == 0 and heat.zmax == 1
    assert fig.layout.shapes[0].x0 == 6.5 and fig.layout.shapes[0].x1 == 7.5
    cell = figure_gate_heatmap(values * 6 - 4, ["x"] * 30, "cell_state").data[0]
    assert cell.zmax == pytest.approx(float(np.abs(values * 6 - 4).max()))
    assert cell.zmin == -cell.zmax and cell.zmid == 0
    viridis = go.Heatmap(colorscale=GATE_SCALE).colorscale
    diverging = go.Heatmap(colorscale=DIVERGING_SCALE).colorscale
    assert heat.colorscale == viridis and cell.colorscale == diverging


def test_heatmap_labels_its_steps_on_a_category_axis() -> None:
    values = np.zeros((500, 4))
    fig = figure_gate_heatmap(values, short_labels(["word"] * 500), "hidden_state")
    assert fig.layout.xaxis.type == "category" and fig.layout.xaxis.tickvals is None
    assert fig.layout.xaxis.labelalias["499"] == "499:word"
    assert fig.data[0].zmax == 1.0  # all-zero values still get a usable range


def test_unit_line_words_use_its_numbers() -> None:
    values = np.array([0.5, 0.6, 2.1, 1.9, 2.0])  # steps 0.1, 1.5, -0.2, 0.1: a jump at step 2
    assert unit_line_words(values, ["a", "b", "*c* ", "d", "e"]) == (
        "Here it starts at 0.50, ends at 2.00 and ranges from 0.50 to 2.10 on the way; its biggest "
        "jump, +1.50, is at step 2 (“\\*c\\*␣”).")  # the token's own text, escaped, its space shown
    counter = unit_line_words(np.array([0.0, 0.5, 1.1, 1.5, 2.0]), list("abcde"))  # a steady climb
    assert counter.startswith("Here it climbs steadily from 0.00 to 2.00, +0.50 a step on average; "
                              "its biggest step, +0.60, is at step 2")
    falls = unit_line_words(np.array([1.0, -2.0, -2.5]), ["a", "b", "c"])
    assert falls.startswith("Here it falls steadily from 1.00 to −2.50") and "−3.00, is at step 1" in falls
    # a GRU unit swung from -1 to 1 and back, and read "runs from 0.74 to -0.19"
    swing = unit_line_words(np.array([0.74, -1.0, 1.0, -1.0, 1.0, -0.19]), list("abcdef"))
    assert swing.startswith("Here it starts at 0.74, ends at −0.19 and ranges from −1.00 to 1.00")
    assert "on average" not in swing
    assert unit_line_words(np.array([0.5, 0.5, 0.501]), list("abc")) == "Here it stays at 0.50."
    assert unit_line_words(np.array([0.3]), ["a"]) == ""


def test_unit_line_words_split_an_lstm_change_into_forgetting_and_writing(lstm_run: Run) -> None:
    """A big change of an LSTM's memory is mostly forgetting (no step writes more than 1): the
    sentence gives both parts, and they add up to the change the line shows."""
    pieces = list("((a[b]c)d)e(f)g")
    values = lstm_run.model.trace(lstm_run.tokenizer.encode("".join(pieces)).ids).layers[0]
    for unit in range(values["cell_state"].shape[1]):
        cell = values["cell_state"][:, unit]
        said = unit_line_caption(values, unit, pieces)
        assert said.startswith(f"Unit {unit}'s cell state c along the prompt. Flat stretches")
        found = re.search(r"biggest (?:jump|step), ([−+]?\d+\.\d+), .*: forgetting \(f = \d\.\d\d\) "
                          r"(?:kept it|erased nothing \(it was near 0\)|moved it ([−+]\d+\.\d+) toward 0) "
                          r"and writing \(i·g\) (?:added nothing|moved it ([−+]\d+\.\d+))\.$", said)
        change, erased, wrote = (float((x or "0").replace("−", "-")) for x in found.groups())
        assert erased + wrote == pytest.approx(change, abs=0.011)  # each rounded to 0.01
        assert abs(wrote) < 1
    assert "toward 0" not in unit_line_words(cell, pieces)  # a GRU's or an RNN's: no split
    # a forget gate of 1 moved nothing: "kept it", not "moved it +0.00 toward 0"
    kept = unit_line_words(np.array([0.0, -1.0, -1.0]), list("abc"), forget=np.array([1.0, 1.0, 1.0]),
                           written=np.array([0.0, -1.0, 0.0]))
    assert kept.endswith(": forgetting (f = 1.00) kept it and writing (i·g) moved it −1.00.")
    nothing = unit_line_words(np.array([0.0, 0.0, 1.0]), list("abc"), forget=np.array([0.2, 0.2, 0.2]),
                              written=np.array([0.0, 0.0, 1.0]))  # c was 0: nothing to erase
    assert nothing.endswith(": forgetting (f = 0.20) erased nothing (it was near 0) and writing (i·g) moved it +1.00.")
    erased = unit_line_words(np.array([0.1, 1.0, 0.0]), list("abc"), forget=np.array([1.0, 1.0, 0.0]),
                             written=np.array([0.0, 1.0, 0.0]))
    assert erased.endswith(": forgetting (f = 0.00) moved it −1.00 toward 0 and writing (i·g) added nothing.")


def test_unit_line_with_measure() -> None:
    labels = short_labels(list("([x])"))
    fig = figure_unit_line(np.arange(5.0), labels, "cell", current=2,
                           measure=np.array([1, 2, 2, 1, 0.0]), measure_name="bracket depth")
    assert len(fig.data) == 2 and fig.data[1].yaxis == "y2"
    assert fig.layout.yaxis.title.text == "cell" and fig.layout.yaxis2.title.text == "bracket depth"
    assert fig.layout.yaxis2.dtick == 1 and fig.layout.yaxis2.tickmode == "linear"
    assert fig.layout.shapes[0].x0 == 2
    # a fractional measure gets its own round ticks, not the left axis's grid (Plotly 7's sync)
    fractional = figure_unit_line(np.arange(5.0), labels, "cell", measure=np.arange(5) / 7.3)
    assert fractional.layout.yaxis2.tickmode == "auto" and fractional.layout.yaxis2.dtick is None
    assert len(figure_unit_line(np.arange(5.0), labels, "cell").data) == 1


def test_correlation_bars() -> None:
    fig = figure_correlations([(4, 0.9), (2, -0.7)], "bracket depth")
    assert list(fig.data[0].x) == [0.9, -0.7] and list(fig.data[0].y) == ["unit 4", "unit 2"]


def test_current_token_chips_escape_user_text(lstm_run: Run) -> None:
    text = "<b>x</b> a"
    encoding = lstm_run.tokenizer.encode(text)
    out = current_token_html(encoding, text, current=1)
    assert "<b>" not in out and "&lt;" in out  # <unk> chips keep the escaped original
    assert out.count("2px solid") == 1  # only the current token is outlined
    assert out.count('class="lmviz-chip"') == len(encoding.ids)


@pytest.mark.parametrize(("current", "before", "after"), [(0, 0, 89), (50, 45, 44), (99, 89, 0)])
def test_a_long_prompt_shows_the_chips_around_the_current_token(lstm_run: Run, current: int,
                                                                before: int, after: int) -> None:
    """A 500-character prompt put 1.5 laptop screens of chips above the LSTM's charts."""
    text = "ab" * 50
    encoding = lstm_run.tokenizer.encode(text)
    out = current_token_html(encoding, text, current, around=5)
    assert out.count('class="lmviz-chip"') == 11 and out.count("2px solid") == 1
    assert (f"… {before} tokens before" in out) == (before > 0)
    assert (f"{after} more tokens …" in out) == (after > 0)
    assert current_token_html(encoding, text[:11], 3, around=5).count('class="lmviz-chip"') == 11


def test_labels_and_ticks() -> None:
    labels = short_labels(["a", " verylongpiece", "\n", "\r\n"])
    assert labels == ["0:a", "1:␣verylo…", "2:↵", "3:␍↵"]  # a Windows line break: both seen
    axis = token_axis(["0:a", "1:<b>", "2:&"])
    # a category axis over positions 0..2 (Plotly thins its labels to the room there is), each
    # shown as its label, escaped: Plotly reads <b> as bold and & as the start of an entity
    assert axis == {"type": "category", "labelalias": {"0": "0:a", "1": "1:&lt;b&gt;", "2": "2:&amp;"}}


def test_markdown_text_is_literal() -> None:
    assert markdown_text("3:$x$ *b*") == "3\\:\u2060\\$x\\$ \\*b\\*"
    # Streamlit makes an emoji of ":m:" whatever is escaped: no colon of the text may start one
    for text in ("14:m", ":smile:", "ok:ok", ":material/home:", ":red[x]"):
        assert not re.search(r":[\w/-]+:|:\w+\[", markdown_text(text).replace("\\", "") + ":")
    assert markdown_text("plain") == "plain"
    assert markdown_text("&amp;") == "\\&amp;"  # markdown would show an entity as "&"


def test_counted_words_a_count_in_the_right_number() -> None:
    assert counted(1, "head") == "1 head" and counted(4, "head") == "4 heads"
    assert counted(0, "repeated token") == "0 repeated tokens"
    assert counted(1200, "step") == "1,200 steps" and counted(2, "axis", "axes") == "2 axes"


def test_most_varying_unit() -> None:
    values = np.zeros((6, 3))
    values[:, 2] = [0, 1, 0, 1, 0, 1]
    assert most_varying_unit(values) == 2
    assert most_varying_unit(np.zeros((0, 0))) == 0


def test_gate_titles() -> None:
    assert gate_title("lstm", "candidate") == "Candidate g"
    assert gate_title("gru", "candidate") == "Candidate n"
    assert gate_title("gru", "update_gate") == "Update gate z"
    assert figure_gate_heatmap(np.zeros((2, 2)), ["a", "b"], "candidate",
                               title="Candidate n").layout.title.text == "Candidate n"


def test_moving_the_timestep_keeps_the_data_revision() -> None:
    """Plotly.react redraws only the outline while datarevision stays; new data changes it."""
    values = np.random.default_rng(1).uniform(0, 1, (12, 4))
    labels = short_labels(list("abcdefghijkl"))
    revisions = {figure_gate_heatmap(values, labels, "input_gate", current=t).layout.datarevision
                 for t in range(12)}
    assert len(revisions) == 1
    assert figure_gate_heatmap(values + 1e-6, labels, "input_gate").layout.datarevision not in revisions
    assert figure_gate_heatmap(values, labels[::-1], "input_gate").layout.datarevision not in revisions
    line = [figure_unit_line(values[:, 0], labels, "cell", current=t).layout.datarevision for t in (0, 5)]
    assert line[0] == line[1]
    depth = np.arange(12.0)
    assert figure_unit_line(values[:, 0], labels, "cell", measure=depth).layout.datarevision != line[0]


def test_every_gate_heatmap_has_the_same_plot_width() -> None:
    """Each color bar had widened its own chart by its labels ("0.5", "−0.88"): the plots differed
    in width, and Plotly thinned each token axis its own way, so side by side they labelled
    different tokens. The bar now sits in a fixed margin that never grows."""
    values = np.linspace(-0.9, 0.9, 40).reshape(10, 4)
    labels = [f"t{i}" for i in range(10)]
    figures = [figure_gate_heatmap(np.abs(values), labels, "input_gate"),
               figure_gate_heatmap(values, labels, "candidate")]
    assert [f.layout.margin.to_plotly_json() for f in figures] == [
        {"l": 60, "r": 64, "t": 50, "b": 64, "autoexpand": False}] * 2
    assert all(f.data[0].colorbar.x == 1 and f.data[0].colorbar.xanchor == "left" for f in figures)
