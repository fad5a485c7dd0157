"""Two models on the same text: one token's row of each (where its past comes from), and how far
back each reaches at every token."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from lmviz.figures.labels import token_axis
from lmviz.figures.style import ACCENT, FIXED_AXIS, LEGEND_ABOVE, TRAIN_COLOR, figure

# the recurrent model is drawn first, the GPT second, on every chart of the page
MODEL_COLORS = (TRAIN_COLOR, ACCENT)


def figure_rows(rows: Mapping[str, np.ndarray], labels: list[str], query: int) -> go.Figure:
    """One bar group per token up to `query`: each model's share of that token in query's row."""
    keys = list(range(query + 1))
    bars = [{"type": "bar", "x": keys, "y": np.asarray(row)[: query + 1], "name": name,
             "marker": {"color": color}, "customdata": labels[: query + 1],
             "hovertemplate": f"{name}: %{{customdata}} %{{y:.3f}}<extra></extra>"}
            for (name, row), color in zip(rows.items(), MODEL_COLORS, strict=False)]
    # redrawn on every token move: fixed margins
    return figure(bars, None, height=320, barmode="group", legend=LEGEND_ABOVE,
                  margin={"l": 50, "r": 20, "t": 40, "b": 90},
                  xaxis={**token_axis(labels[: query + 1]), "tickangle": -60, **FIXED_AXIS},
                  yaxis={"title": "share", "rangemode": "tozero", **FIXED_AXIS})


def figure_distance_back(distances: Mapping[str, np.ndarray], labels: list[str],
                         current: int | None = None) -> go.Figure:
    """For every token: how many tokens back each model's row sits on average."""
    positions = list(range(len(labels)))
    lines = [{"type": "scatter", "x": positions, "y": np.asarray(values), "name": name,
              "mode": "lines+markers", "marker": {"size": 4}, "line": {"color": color},
              "customdata": labels,
              "hovertemplate": f"{name}: %{{customdata}} %{{y:.1f}} tokens back<extra></extra>"}
             for (name, values), color in zip(distances.items(), MODEL_COLORS, strict=False)]
    shapes = []
    if current is not None and 0 <= current < len(labels):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": current, "x1": current,
                       "y0": 0, "y1": 1, "line": {"color": "#888", "width": 1, "dash": "dot"}})
    return figure(lines, None, height=300, shapes=shapes, legend=LEGEND_ABOVE,
                  margin={"l": 50, "r": 20, "t": 40, "b": 90},
                  xaxis={**token_axis(labels), "tickangle": -60, **FIXED_AXIS},
                  yaxis={"title": "tokens back (average)", "rangemode": "tozero", **FIXED_AXIS})
