"""Attention pictures: one head's query × key map (masked cells grey), all heads as small
multiples, one query's steps (scores → scaled → softmax → weighted sum), induction scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lmviz.attention_math import (
    InductionScores,
    QueryStep,
    copy_distances,
    induction_targets,
    masked_attention,
)
from lmviz.figures.labels import plotly_label, token_axis
from lmviz.figures.style import ACCENT, FIXED_AXIS, GATE_SCALE, MUTED, TRAIN_COLOR, figure
from lmviz.text import counted

MASKED_COLOR = "#d9d9d9"  # cells a query cannot see (keys after it): drawn as the plot background
GRID_WIDTH = 820  # pixels a desktop gives the head grid's panels, about (1400 px wide with the sidebar)
GRID_PANEL = 160  # the largest panel side, in pixels: a layer's row is this tall with few heads
GRID_TITLE = 28  # pixels above each panel for its title
GRID_TOP = 70  # pixels above the grid: the first row's titles and the color bar


def _cell(index: int) -> str:
    """The axes suffix of a grid's cell: '' for the first (x, y), then '2', '3', ... (x2, y2)."""
    return str(index + 1) if index else ""


def _grid(rows: int, cols: int, titles: Sequence[str] = (), horizontal_spacing: float = 0.02,
          vertical_spacing: float = 0.06) -> tuple[dict[str, dict[str, object]], list[dict[str, object]]]:
    """make_subplots' grid as dicts: the x and y axis of every cell over its domain ("xaxis",
    "yaxis", "xaxis2", ... for cells row by row from the top) and title annotations over the
    first len(titles) cells."""
    width = (1 - horizontal_spacing * (cols - 1)) / cols
    height = (1 - vertical_spacing * (rows - 1)) / rows
    axes: dict[str, dict[str, object]] = {}
    annotations: list[dict[str, object]] = []
    for index in range(rows * cols):
        row, col = divmod(index, cols)
        left, bottom = col * (width + horizontal_spacing), (rows - 1 - row) * (height + vertical_spacing)
        n = _cell(index)
        axes[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [left, left + width]}
        axes[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [bottom, bottom + height]}
        if index < len(titles):
            annotations.append({"text": titles[index], "x": left + width / 2, "y": bottom + height,
                                "xref": "paper", "yref": "paper", "xanchor": "center",
                                "yanchor": "bottom", "showarrow": False, "font": {"size": 16}})
    return axes, annotations


def figure_attention(weights: np.ndarray, labels: list[str], title: str | None = None,
                     query: int | None = None, *,
                     axes: tuple[str, str] = ("key (attended to)", "query (attending)"),
                     value: str = "weight", hover: str = "query %{y} → key %{x}",
                     zmax: float = 1.0) -> go.Figure:
    """One head's (T, T) weights: rows are queries, columns keys; masked (future) cells grey.
    Any causal matrix whose rows add to 1 draws the same way, with its own `axes` titles (x, y),
    colorbar `value`, `hover` text and top of the color scale (`zmax`; larger values saturate)."""
    length = weights.shape[0]
    ticks = token_axis(labels)
    heatmap = {"type": "heatmap", "z": masked_attention(weights), "x": list(range(length)),
               "y": list(range(length)), "colorscale": GATE_SCALE, "zmin": 0, "zmax": zmax,
               "colorbar": {"thickness": 12, "title": value}, "hoverongaps": False,
               "hovertemplate": f"{hover}: %{{z:.3f}}<extra></extra>"}
    shapes = []
    if query is not None and 0 <= query < length:
        shapes.append({"type": "rect", "x0": -0.5, "x1": query + 0.5, "y0": query - 0.5,
                       "y1": query + 0.5, "line": {"color": ACCENT, "width": 3}})
    # redrawn on every query move: fixed margins (room for 8-character labels)
    return figure([heatmap], title, height=min(620, 260 + 8 * length), shapes=shapes,
                  plot_bgcolor=MASKED_COLOR, margin={"l": 110, "r": 20, "t": 50 if title else 20, "b": 100},
                  xaxis={**ticks, "tickangle": -60, "showgrid": False, "title": axes[0], **FIXED_AXIS},
                  yaxis={**ticks, "autorange": "reversed", "showgrid": False, "title": axes[1],
                         **FIXED_AXIS})


def figure_head_grid(attention: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """All heads as small multiples: one row per layer, one column per head, each a square."""
    layers, heads = attention.shape[:2]
    cells = [(ly, h) for ly in range(layers) for h in range(heads)]
    # The server does not know the screen's width: the rows are as tall as a desktop column is
    # wide (about GRID_WIDTH pixels over `heads` columns), and every panel keeps its cells square
    # (scaleanchor) by shrinking its own domain (constrain) to the smaller side: on a phone, a
    # smaller square at the top of its row instead of a tall sliver.
    panel = min(GRID_PANEL, GRID_WIDTH // heads)
    plot_height = layers * panel + (layers - 1) * GRID_TITLE
    axes, _ = _grid(layers, heads, vertical_spacing=GRID_TITLE / plot_height)
    titles, shapes = [], []
    for index, (ly, h) in enumerate(cells):
        n = _cell(index)
        # no zero line: the template's white line at 0 ran across row 0's masked (grey) cells
        axes[f"xaxis{n}"].update(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
        axes[f"yaxis{n}"].update(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                                 scaleanchor=f"x{n}", constrain="domain", constraintoward="top")
        # title and outline on the panel's own domain, wherever constrain put it (paper
        # coordinates of the cell put them beside a shrunk panel)
        titles.append({"text": f"L{ly} H{h}", "x": 0.5, "y": 1, "xref": f"x{n} domain",
                       "yref": f"y{n} domain", "xanchor": "center", "yanchor": "bottom",
                       "showarrow": False, "font": {"size": 14}})
        # the masked cells' grey under the panel alone (a plot background ran past shrunk panels)
        panel_area = {"type": "rect", "xref": f"x{n} domain", "yref": f"y{n} domain", "x0": 0, "x1": 1,
                      "y0": 0, "y1": 1}
        shapes.append({**panel_area, "layer": "below", "fillcolor": MASKED_COLOR, "line": {"width": 0}})
        if (ly, h) == selected:
            shapes.append({**panel_area, "line": {"color": ACCENT, "width": 3}})
    traces = [{"type": "heatmap", "z": masked_attention(attention[ly, h]), "coloraxis": "coloraxis",
               "hoverongaps": False, "xaxis": f"x{_cell(index)}", "yaxis": f"y{_cell(index)}",
               "hovertemplate": f"layer {ly} head {h}: query %{{y}} → key %{{x}}: %{{z:.3f}}<extra></extra>"}
              for index, (ly, h) in enumerate(cells)]
    # the color bar across the top, above the first row's titles: at the right it took a sixth of
    # a phone's width, and below a phone's shrunk panels it sat after a blank row
    colorbar = {"orientation": "h", "thickness": 10, "len": 0.5, "x": 0.5, "xanchor": "center",
                "y": 1 + GRID_TITLE / plot_height, "yanchor": "bottom", "ypad": 0, "tickvals": [0, 0.5, 1],
                "title": {"text": "weight", "side": "right"}}
    return figure(traces, None, height=plot_height + GRID_TOP + 20, annotations=titles, shapes=shapes,
                  margin={"l": 20, "r": 20, "t": GRID_TOP, "b": 20},
                  coloraxis={"colorscale": GATE_SCALE, "cmin": 0, "cmax": 1, "colorbar": colorbar},
                  **axes)


def figure_query_steps(step: QueryStep, labels: list[str]) -> go.Figure:
    """Three rows over the visible keys: raw q·k, divided by √d, and the softmax weights."""
    keys = list(range(step.query + 1))
    axes, titles = _grid(3, 1, ["1 · raw score q·k",
                                f"2 · scaled: q·k / √{step.head_size} = q·k / {step.scale:.2f}",
                                f"3 · softmax weight (sums to {step.weight_sum:.4f})"],
                         vertical_spacing=0.08)
    for upper in ("xaxis", "xaxis2"):  # the x axis is shared: the upper rows follow the bottom one
        axes[upper].update(matches="x3", showticklabels=False)
    axes["xaxis3"].update(token_axis(labels[: step.query + 1]), tickangle=-60)
    axes["yaxis3"]["range"] = [0, 1]
    for axis in axes.values():  # redrawn on every query move: fixed margins below
        axis.update(FIXED_AXIS)
    pieces = [labels[j] for j in keys]
    bars = [{"type": "bar", "x": keys, "y": values, "marker": {"color": color}, "showlegend": False,
             "customdata": pieces, "hovertemplate": "key %{customdata}: %{y:.4f}<extra></extra>",
             "xaxis": f"x{_cell(row)}", "yaxis": f"y{_cell(row)}"}
            for row, (values, color) in enumerate(((step.scores, MUTED), (step.scaled, TRAIN_COLOR),
                                                   (step.weights, ACCENT)))]
    return figure(bars, None, height=520, annotations=titles, margin={"l": 50, "r": 20, "t": 30, "b": 90},
                  **axes)


LEAST_SHOWN_WEIGHT = 0.01  # a key drawn in the weighted sum has at least this weight


def weighted_keys(step: QueryStep, rows: int = 6) -> list[int]:
    """The keys drawn in the weighted sum, in order: the `rows` most attended with a weight of
    at least LEAST_SHOWN_WEIGHT (the most attended one always); a peaked head's "most attended
    keys" had been one at 1.00 and five at 0.00."""
    top = step.top_keys(rows)
    return sorted([j for j in top if step.weights[j] >= LEAST_SHOWN_WEIGHT] or top[:1])


def weighted_sum_caption(step: QueryStep, rows: int = 6) -> str:
    """What the weighted sum's rows are, for its caption: the keys drawn, and the keys left out
    but counted in the output."""
    keys = weighted_keys(step, rows)
    drawn, rest = len(keys), step.query + 1 - len(keys)
    others = f", with the other {counted(rest, 'key')}," if rest else ""
    one = (f"the only key with a weight of {LEAST_SHOWN_WEIGHT:g} or more" if step.weights[keys[0]] >= LEAST_SHOWN_WEIGHT
           else f"no key reaches a weight of {LEAST_SHOWN_WEIGHT:g}")
    rows_are = (f"the row above the line is the most attended key ({one}), already times its weight; "
                "it adds up" if drawn == 1 else
                f"the {drawn} rows above the line are the most attended keys (those with a weight of "
                f"{LEAST_SHOWN_WEIGHT:g} or more, at most {rows}), each already times its weight; they add up")
    return f"The head's output is the weighted sum of the value vectors: {rows_are}{others} to the last row."


def figure_weighted_sum(step: QueryStep, labels: list[str], rows: int = 6) -> go.Figure:
    """The weighted value vectors w_j·v_j of the most attended keys (`weighted_keys`) and their
    sum, the output (the remaining keys are included in the sum, not drawn)."""
    top = weighted_keys(step, rows)
    contributions = step.weights[top, None] * step.values[top]  # (rows, d)
    z = np.vstack([contributions, step.output[None, :]])
    names = [f"{step.weights[j]:.2f} · v[{plotly_label(labels[j])}]" for j in top] + ["output Σ w·v"]
    span = float(np.abs(z).max()) or 1.0
    heatmap = {"type": "heatmap", "z": z, "y": names, "colorscale": "RdBu_r", "zmin": -span, "zmid": 0,
               "zmax": span, "colorbar": {"thickness": 12},
               "hovertemplate": "%{y}, dim %{x}: %{z:.3f}<extra></extra>"}
    line = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": len(top) - 0.5,
            "y1": len(top) - 0.5, "line": {"color": "#333", "width": 2}}  # output row below the line
    return figure([heatmap], None, height=120 + 34 * len(names), shapes=[line],
                  margin={"l": 140, "r": 20, "t": 20, "b": 50},
                  xaxis={"title": "dimension of the head's value vector", **FIXED_AXIS},
                  yaxis={"autorange": "reversed", **FIXED_AXIS})


def figure_induction(scores: InductionScores) -> go.Figure:
    """Per head (layers × heads), the prefix-matching score, with uniform attention as a reference."""
    layers, heads = scores.scores.shape
    heatmap = {"type": "heatmap", "z": scores.scores, "x": [f"head {h}" for h in range(heads)],
               "y": [f"layer {ly}" for ly in range(layers)], "colorscale": GATE_SCALE, "zmin": 0,
               # three decimals always (0.100, not 0.1): the numbers line up, and the button
               # that picks the highest says it so (two heads read 0.30, one "highest (0.305)")
               "zmax": 1, "texttemplate": "%{z:.3f}",
               "colorbar": {"thickness": 12}, "hovertemplate": "%{y} %{x}: %{z:.3f}<extra></extra>"}
    # two lines: on one, a phone cut the title at "the token after the earlier occ…"
    return figure([heatmap], f"Induction score: attention to the token<br>after the earlier "
                             f"occurrence (uniform: {scores.chance:.2f})",
                  height=130 + 60 * layers, yaxis={"autorange": "reversed"},
                  margin={"l": 40, "r": 20, "t": 70, "b": 40})


def stripes_sentence(ids: list[int], unknown_id: int | None = None, shown: bool = False) -> str:
    """Where a copy head's map shows the copies of a text with two copied spans (the copy
    example's lines), counted in its own tokens; '' unless there are exactly two distances.
    `shown`: the head on screen is one (the copy lesson's); else a copy head's map would."""
    distances = copy_distances(induction_targets(ids, unknown_id))
    if len(distances) != 2:
        return ""
    where = ("In the copy head's map above, the second copy of a span shows" if shown
             else "A copy head's map would show the second copy of a span")
    return (f"{where} as a stripe parallel to the diagonal, "
            f"{distances[0]} and {distances[1]} tokens to its left on the example's two lines (one "
            "less than the copies are apart: the head looks at the token after the earlier copy). "
            "Spans of other lengths put it at other distances, because the head looks for where "
            "the current token occurred before, not a fixed distance back. ")


def query_latex(step: QueryStep, key: int) -> str:
    """The steps for one key of the query with their numbers, as one aligned LaTeX block."""
    t, j = step.query, key
    # always shifted by the largest score, as the softmax itself is computed: every exponent is
    # ≤ 0, so each term is ≤ 1 and the denominator lies between 1 and the number of keys (unshifted,
    # a score of 32 printed a denominator of 85941401854769)
    top = float(step.scaled.max())
    denominator = float(np.exp(step.scaled - top).sum())
    exponent = float(step.scaled[j]) - top
    lines = [
        rf"q_{{{t}}} \cdot k_{{{j}}} &= {step.scores[j]:.4f}",
        rf"s_{{{t},{j}}} &= \frac{{q_{{{t}}} \cdot k_{{{j}}}}}{{\sqrt{{d}}}} \\ &= "
        rf"\frac{{{step.scores[j]:.4f}}}{{\sqrt{{{step.head_size}}}}} = {step.scaled[j]:.4f}",
        rf"\max_{{m \le {t}}} s_{{{t},m}} &= {top:.4f}",
        rf"w_{{{t},{j}}} &= \frac{{e^{{s_{{{t},{j}}} - \max}}}}{{\sum_{{m \le {t}}} e^{{s_{{{t},m}} - \max}}}} \\ &= "
        rf"\frac{{e^{{{exponent:.4f}}}}}{{{denominator:.4f}}} = {step.weights[j]:.4f}",
        rf"\textstyle\sum_{{m \le {t}}} w_{{{t},m}} &= {step.weight_sum:.6f}",
        rf"o_{{{t}}} &= \textstyle\sum_{{m \le {t}}} w_{{{t},m}}\, v_m, \quad \lVert o_{{{t}}} \rVert = "
        rf"{step.output_norm:.4f}",
    ]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def query_rows(step: QueryStep, labels: list[str]) -> list[dict]:
    """One row per visible key: its numbers at each step, for a table."""
    norms = np.linalg.norm(step.values, axis=1)
    return [{"key": labels[j], "q·k": float(step.scores[j]), "q·k / √d": float(step.scaled[j]),
             "weight": float(step.weights[j]), "‖v‖": float(norms[j])} for j in range(step.query + 1)]
