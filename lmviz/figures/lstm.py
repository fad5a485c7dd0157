"""Recurrent gates over time: unit heatmaps, one unit's line, correlated units, and the step's
equations with their numbers (LaTeX)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from lmviz.figures.labels import markdown_piece, token_axis
from lmviz.figures.style import (
    ACCENT,
    DIVERGING_SCALE,
    FIXED_AXIS,
    GATE_SCALE,
    MUTED,
    TRAIN_COLOR,
    data_revision,
    figure,
)
from lmviz.lstm_math import SIGMOID_GATES, RecurrentStep
from lmviz.text import plain, signed

TITLES = {"input_gate": "Input gate i", "forget_gate": "Forget gate f", "candidate": "Candidate g",
          "output_gate": "Output gate o", "cell_state": "Cell state c", "hidden_state": "Hidden state h",
          "reset_gate": "Reset gate r", "update_gate": "Update gate z"}
GRU_TITLES = {"candidate": "Candidate n"}  # PyTorch's name for the GRU's candidate


def gate_title(family: str, name: str) -> str:
    """The chart title of one of GATE_NAMES[family]."""
    return (GRU_TITLES if family == "gru" else {}).get(name, TITLES.get(name, name))


# Each family's cell in a few words, above its gates.
INTRO: dict[str, str] = {
    "lstm": "An LSTM reads the prompt one token at a time. At every step three **gates** between 0 "
            "and 1 decide what to write (input *i*), what to keep (forget *f*) and what to show "
            "(output *o*); the **candidate** *g* is the new content, the **cell state** *c* is the "
            "memory and the **hidden state** *h* is what the prediction sees.",
    "gru": "A GRU reads the prompt one token at a time. Its **reset** gate decides how much of the "
           "past feeds the new **candidate**, its **update** gate how much of the old **hidden "
           "state** to keep.",
    "rnn": "A vanilla RNN has no gates: at each token it rewrites its whole **hidden state** "
           "through tanh, with nothing that decides to keep a part of it as it is: what it held "
           "fades unless each step writes it again (and training struggles to teach it to).",
}
# One sentence per chart: what to look at.
NOTES: dict[str, dict[str, str]] = {
    "lstm": {
        "input_gate": "How much of this step's candidate is written into memory: bright = write.",
        "forget_gate": "How much of the old cell survives: near 1 (bright) keeps the memory, near 0 erases it.",
        "candidate": "The new content proposed at each step, between −1 (blue) and +1 (red).",
        "output_gate": "How much of each unit's memory is let out into the hidden state.",
        "cell_state": "The memory itself: a row that keeps its color over many tokens is a flag kept; one whose color drifts steadily is a counter.",
        "hidden_state": "What the next layer and the prediction head see: o ⊙ tanh(c).",
    },
    "gru": {
        "reset_gate": "How much of the previous hidden state feeds the candidate: near 0 ignores the past.",
        "update_gate": "Near 1 keeps the old hidden state, near 0 replaces it with the candidate.",
        "candidate": "The new content proposed at each step, between −1 (blue) and +1 (red).",
        "hidden_state": "The GRU's only memory: a blend of the old state and the candidate.",
    },
    "rnn": {
        "hidden_state": "A vanilla RNN's whole memory, rewritten through tanh at every token.",
    },
}


def figure_gate_heatmap(values: np.ndarray, labels: list[str], name: str,
                        current: int | None = None, height: int = 300,
                        title: str | None = None) -> go.Figure:
    """A (T, H) gate as a heatmap: tokens along x, units along y; the current step outlined.

    Gates (sigmoid, in [0, 1]) use GATE_SCALE; the rest DIVERGING_SCALE on a symmetric range."""
    length, units = values.shape
    if name in SIGMOID_GATES:
        colors = {"colorscale": GATE_SCALE, "zmin": 0.0, "zmax": 1.0}
    else:
        span = float(np.nanmax(np.abs(values))) if values.size else 1.0
        span = span if span > 0 else 1.0
        colors = {"colorscale": DIVERGING_SCALE, "zmin": -span, "zmid": 0.0, "zmax": span}
    heatmap = {"type": "heatmap", "z": values.T, "x": list(range(length)), "y": list(range(units)),
               **colors, "colorbar": {"thickness": 12, "x": 1, "xanchor": "left", "xpad": 6},
               "hovertemplate": "step %{x}, unit %{y}: %{z:.3f}<extra></extra>"}
    shapes = []
    if current is not None and 0 <= current < length:
        shapes.append({"type": "rect", "x0": current - 0.5, "x1": current + 0.5, "y0": -0.5,
                       "y1": units - 0.5, "line": {"color": ACCENT, "width": 3}})
    # only the outline moves with the timestep: the same revision keeps the heatmap as drawn
    return figure([heatmap], title or TITLES.get(name, name), height=height, shapes=shapes,
                  datarevision=data_revision(values, labels), uirevision=name,
                  # the color bar in a fixed right margin: its labels ("0.5", "−0.88") had
                  # widened it by chart, so the plots differed in width and Plotly thinned each
                  # token axis its own way (neighbouring charts labelled different tokens)
                  margin={"l": 60, "r": 64, "t": 50, "b": 64, "autoexpand": False},
                  xaxis={**token_axis(labels), "tickangle": -60, "tickfont": {"size": 10}, **FIXED_AXIS},
                  yaxis={"title": {"text": "unit"}, "autorange": "reversed", **FIXED_AXIS})


def figure_unit_line(values: np.ndarray, labels: list[str], title: str, current: int | None = None,
                     measure: np.ndarray | None = None, measure_name: str | None = None) -> go.Figure:
    """One unit's value along the text, optionally with a measure (e.g. bracket depth) on a
    second axis; the current step marked."""
    steps = list(range(len(values)))
    traces: list[dict] = [{"type": "scatter", "x": steps, "y": values, "mode": "lines+markers",
                           "name": title, "line": {"color": TRAIN_COLOR}, "customdata": labels,
                           "hovertemplate": "%{customdata}: %{y:.3f}<extra></extra>"}]
    extra: dict[str, object] = {}
    if measure is not None:
        traces.append({"type": "scatter", "x": steps, "y": measure, "mode": "lines",
                       "name": measure_name or "measure", "yaxis": "y2",
                       "line": {"color": MUTED, "dash": "dash", "shape": "hv"}})
        integer = bool(np.all(np.mod(measure, 1) == 0)) and float(np.max(measure, initial=0)) <= 12
        # tickmode: Plotly 7 would sync an overlaying axis to the left one's grid (uneven values)
        extra["yaxis2"] = {"title": {"text": measure_name}, "overlaying": "y", "side": "right",
                           "showgrid": False, "rangemode": "tozero",
                           **({"tickmode": "linear", "dtick": 1} if integer else {"tickmode": "auto"})}
    if current is not None and 0 <= current < len(values):
        extra["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": current, "x1": current,
                            "y0": 0, "y1": 1, "line": {"color": ACCENT, "width": 2}}]
    revision = data_revision(values, labels, measure if measure is not None else [])
    return figure(traces, None, height=320, legend={"orientation": "h", "y": 1.12},
                  datarevision=revision, uirevision=title,
                  margin={"l": 60, "r": 60, "t": 40, "b": 70},
                  xaxis={**token_axis(labels), "tickangle": -60, **FIXED_AXIS},
                  yaxis={"title": {"text": title}, **FIXED_AXIS}, **extra)


UNIT_LINE_INTRO = {  # how to read a unit's line, by what it plots
    "cell_state": "Flat stretches are memory kept (f near 1, little written); a steady climb or "
                  "fall adds a little at every step, as a counter does, or fades toward 0 as f "
                  "keeps a little less than all; a jump writes or erases a lot at once: one step "
                  "writes at most 1 (i·g), forgetting can let go of much more ((1 − f)·c).",
    "hidden_state": "Flat stretches are memory kept; a steady climb or fall changes it a little at "
                    "every step, as a counter does; a jump rewrites a lot at once.",
}


STEADY = 0.8  # a line whose net change is this share of all its ups and downs is steady


def unit_line_words(values: np.ndarray, pieces: list[str], forget: np.ndarray | None = None,
                    written: np.ndarray | None = None) -> str:
    """One unit's line in words, with its numbers (markdown): where it starts and ends; for a
    steady climb or fall its mean change per step, else the range it swings over on the way (a
    line that swung from -1 to 1 read "runs from 0.74 to -0.19"); and its biggest change, at which
    token (`pieces`: the tokens' text), called a jump only when it is over twice the typical
    (median) step. Given an LSTM's forget gate and what each step wrote (i·g), per step, the
    biggest change is split into the two: c_t − c_{t−1} = (f_t − 1)·c_{t−1} + i_t·g_t. '' for
    fewer than two steps."""
    if len(values) < 2:
        return ""
    change = np.diff(values)
    k = int(np.argmax(np.abs(change))) + 1  # the step that made the biggest change
    jump = abs(change[k - 1]) > 2 * float(np.median(np.abs(change)))
    net, travel = float(values[-1] - values[0]), float(np.abs(change).sum())
    if plain(values.min()) == plain(values.max()):
        return f"Here it stays at {plain(values[0])}."
    if abs(net) >= STEADY * travel:  # hardly ever turns back
        shape = (f"Here it {'climbs' if net > 0 else 'falls'} steadily from {plain(values[0])} to "
                 f"{plain(values[-1])}, {signed(float(change.mean()))} a step on average")
    else:
        shape = (f"Here it starts at {plain(values[0])}, ends at {plain(values[-1])} and ranges from "
                 f"{plain(values.min())} to {plain(values.max())} on the way")
    words = (f"{shape}; its biggest {'jump' if jump else 'step'}, {signed(change[k - 1])}, is at "
             f"step {k} (“{markdown_piece(pieces[k])}”)")
    if forget is None or written is None:
        return words + "."
    erased = (forget[k] - 1.0) * values[k - 1]
    # "moved it +0.00 toward 0" read as a move: a forget gate near 1 kept it, a memory near 0
    # had nothing to lose
    forgetting = f"forgetting (f = {forget[k]:.2f})"
    if signed(erased) != plain(0):
        forgot = f"{forgetting} moved it {signed(erased)} toward 0"
    else:
        forgot = f"{forgetting} kept it" if forget[k] >= 0.995 else f"{forgetting} erased nothing (it was near 0)"
    wrote = f"moved it {signed(written[k])}" if signed(written[k]) != plain(0) else "added nothing"
    return words + f": {forgot} and writing (i·g) {wrote}."


def unit_line_caption(values: Mapping[str, np.ndarray], unit: int, pieces: list[str]) -> str:
    """The caption of a unit's memory line (`values`: one layer of a trace): how to read it, and
    its own numbers, an LSTM's biggest change split into forgetting and writing."""
    memory = "cell_state" if "cell_state" in values else "hidden_state"
    parts = ((values["forget_gate"][:, unit], values["input_gate"][:, unit] * values["candidate"][:, unit])
             if memory == "cell_state" else (None, None))
    return (f"Unit {unit}'s {TITLES[memory].lower()} along the prompt. {UNIT_LINE_INTRO[memory]} "
            + unit_line_words(values[memory][:, unit], pieces, *parts))


def figure_correlations(units: list[tuple[int, float]], measure_name: str) -> go.Figure:
    """The top units by |r| with a measure, as horizontal bars (positive red, negative blue)."""
    labels = [f"unit {u}" for u, _ in units]
    rs = [r for _, r in units]
    bars = {"type": "bar", "x": rs, "y": labels, "orientation": "h", "text": [f"{r:+.2f}" for r in rs],
            "marker": {"color": ["#d6604d" if r >= 0 else "#4393c3" for r in rs]}}
    return figure([bars], None, height=60 + 32 * max(1, len(units)),
                  xaxis={"range": [-1, 1], "title": {"text": f"correlation r with {measure_name}"}},
                  yaxis={"autorange": "reversed"})


def _n(x: float) -> str:
    """A number for LaTeX after an operator: negative ones in parentheses."""
    text = f"{x:.4f}"
    return f"({text})" if x < 0 else text


def _plus(a: float, b: float) -> str:
    """'a + b' or 'a − |b|' with four decimals."""
    return f"{a:.4f} {'-' if b < 0 else '+'} {abs(b):.4f}"


def _gate_line(symbol: str, act: str, weights: str, g) -> str:
    """Two aligned lines: the formula, then this step's numbers."""
    return (rf"{symbol} &= {act}({weights}) \\ &= {act}({_plus(g.input_part, g.hidden_part)})"
            rf" = {act}({g.pre_activation:.4f}) = {g.value:.4f}")


def equations_latex(step: RecurrentStep) -> str:
    """The step's equations for one unit with this input's numbers, as one aligned LaTeX block."""
    gates = step.gates
    if step.family == "lstm":
        i, f, g, o = (gates[n].value for n in ("input_gate", "forget_gate", "candidate", "output_gate"))
        lines = [
            _gate_line("i_t", r"\sigma", r"W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}", gates["input_gate"]),
            _gate_line("f_t", r"\sigma", r"W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}", gates["forget_gate"]),
            _gate_line("g_t", r"\tanh", r"W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}", gates["candidate"]),
            _gate_line("o_t", r"\sigma", r"W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}", gates["output_gate"]),
            (rf"c_t &= f_t \odot c_{{t-1}} + i_t \odot g_t \\ &= {f:.4f} \cdot {_n(step.c_prev)}"
             rf" + {i:.4f} \cdot {_n(g)} = {step.c:.4f}"),
            rf"h_t &= o_t \odot \tanh(c_t) \\ &= {o:.4f} \cdot \tanh({step.c:.4f}) = {step.h:.4f}",
        ]
    elif step.family == "gru":
        n = gates["candidate"]
        r, z = gates["reset_gate"].value, gates["update_gate"].value
        lines = [
            _gate_line("r_t", r"\sigma", r"W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}", gates["reset_gate"]),
            _gate_line("z_t", r"\sigma", r"W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}", gates["update_gate"]),
            (r"n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))"
             rf" \\ &= \tanh({n.input_part:.4f} + {r:.4f} \cdot {_n(step.gru_hidden_raw)})"
             rf" = \tanh({n.pre_activation:.4f}) = {n.value:.4f}"),
            (rf"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{{t-1}} \\ &= {1 - z:.4f} \cdot {_n(n.value)}"
             rf" + {z:.4f} \cdot {_n(step.h_prev)} = {step.h:.4f}"),
        ]
    else:
        lines = [_gate_line("h_t", r"\tanh", r"W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}",
                            gates["hidden_state"])]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
