"""Next-token bars at the chosen sampling settings over T = 1, and per-step probabilities."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from lmviz.figures.style import LEGEND_ABOVE, MUTED, VAL_COLOR, figure, show_whitespace, token_color
from lmviz.next_token import TokenBars

MODEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


def bar_labels(pieces: Sequence[str]) -> list[str]:
    """Whitespace made visible and escaped (Plotly reads a little HTML in labels)."""
    return [html.escape(show_whitespace(p), quote=False) for p in pieces]


def figure_next_token(bars: TokenBars, temperature: float, log_y: bool = False,
                      title: str | None = None) -> go.Figure:
    """Colored bars: the distribution sampled from; grey bars behind: T = 1; hatched red outlines
    and red labels: tokens cut by top-k / top-p (their height before the cut)."""
    labels = bar_labels(bars.pieces)
    x = list(range(len(labels)))  # positions, so two identical-looking labels stay apart
    traces: list[dict] = [
        {"type": "bar", "x": x, "y": bars.base_probs, "name": "T = 1", "marker": {"color": MUTED},
         "opacity": 0.55, "width": 0.9, "customdata": labels,
         "hovertemplate": "%{customdata}: %{y:.3f} at T = 1<extra></extra>"},
        {"type": "bar", "x": x, "y": bars.probs, "name": f"T = {temperature:g}, after top-k / top-p",
         "marker": {"color": [token_color(i) for i in bars.ids], "line": {"color": "#334155", "width": 1}},
         "width": 0.55, "customdata": labels,
         "hovertemplate": "%{customdata}: %{y:.3f} sampled from<extra></extra>"},
    ]
    cut = [i for i, c in enumerate(bars.cut) if c]
    if cut:
        traces.append(
            {"type": "bar", "x": cut, "y": [bars.tempered[i] for i in cut], "name": "cut by top-k / top-p",
             "marker": {"color": "rgba(0,0,0,0)", "line": {"color": VAL_COLOR, "width": 1.5},
                        "pattern": {"shape": "x", "fgcolor": VAL_COLOR, "size": 6}},
             "width": 0.55, "customdata": [labels[i] for i in cut],
             "hovertemplate": "%{customdata}: cut (was %{y:.3f})<extra></extra>"})
    ticks = [f'<span style="color:{VAL_COLOR}">{label}</span>' if c else label
             for label, c in zip(labels, bars.cut, strict=True)]
    yaxis = ({"title": {"text": "probability (log scale)"}, "type": "log", "exponentformat": "power",
              "dtick": 1} if log_y else {"title": {"text": "probability"}, "rangemode": "tozero"})
    return figure(traces, title, height=380, barmode="overlay", bargap=0.1, legend=LEGEND_ABOVE,
                  xaxis={"tickmode": "array", "tickvals": x, "ticktext": ticks, "tickangle": 0,
                         "title": {"text": "next token (most likely at T = 1 first)"}},
                  yaxis=yaxis)


def figure_step_probabilities(series: Mapping[str, Sequence[float]],
                              tokens: Mapping[str, Sequence[str]] | None = None,
                              title: str | None = None) -> go.Figure:
    """The probability each model gave the token it picked, step by step."""
    traces = []
    for n, (name, probs) in enumerate(series.items()):
        picked = bar_labels(tokens[name]) if tokens and name in tokens else None
        traces.append({
            "type": "scatter", "x": list(range(1, len(probs) + 1)), "y": list(probs),
            "mode": "lines+markers", "name": name,
            "line": {"color": MODEL_COLORS[n % len(MODEL_COLORS)]}, "customdata": picked,
            "hovertemplate": ("step %{x}: %{customdata} p=%{y:.3f}" if picked else "step %{x}: p=%{y:.3f}")
            + "<extra>" + html.escape(name) + "</extra>"})
    return figure(traces, title, height=300, legend=LEGEND_ABOVE,
                  xaxis={"title": {"text": "generated token"}},
                  yaxis={"title": {"text": "probability of the picked token"}, "range": [0, 1.05]})
