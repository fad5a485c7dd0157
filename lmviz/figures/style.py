"""Shared colors and layout so every page reads the same way."""

from __future__ import annotations

import hashlib

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Every figure starts from this template; passing it per figure would validate and copy it
# again on each rerun (a fifth of a Sampling rerun, measured).
pio.templates.default = "plotly_white"

GATE_SCALE = "Viridis"  # values in [0, 1]: gates, probabilities, attention
DIVERGING_SCALE = "RdBu_r"  # values in [-1, 1]: candidate, cell and hidden state, cosine
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#d62728"
ACCENT = "#ff7f0e"
MUTED = "#b0b7c3"
KIND_COLORS = {"letter": "#4C78A8", "word": "#54A24B", "digit": "#F58518", "whitespace": "#9D9D9D",
               "punctuation": "#E45756", "other": "#72B7B2"}
# Axes of charts redrawn on every slider move: Plotly's automatic margins and tick-label overflow
# checks measure every label in the browser, twice (more than half of a move's drawing time,
# measured): these charts set their margins instead.
FIXED_AXIS = {"automargin": False, "ticklabeloverflow": "allow"}
LEGEND_ABOVE = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
# A qualitative palette; token id i always gets TOKEN_PALETTE[i % len].
TOKEN_PALETTE = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
                 "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3", "#b2df8a",
                 "#fb9a99", "#fdbf6f", "#cab2d6", "#e5d8bd"]


def token_color(token_id: int) -> str:
    """The one color a token id has on every page."""
    return TOKEN_PALETTE[token_id % len(TOKEN_PALETTE)]


def show_whitespace(piece: str) -> str:
    """A label where spaces, newlines, carriage returns and tabs are visible."""
    return piece.replace(" ", "␣").replace("\n", "↵").replace("\r", "␍").replace("\t", "⇥") or "∅"


def token_labels(pieces: list[str], start: int = 0) -> list[str]:
    """Unique axis labels for a sequence of pieces: 'position:piece', the first at `start` (a
    part of a longer sequence keeps its positions)."""
    return [f"{i}:{show_whitespace(p)}" for i, p in enumerate(pieces, start)]


def data_revision(*parts: np.ndarray | list) -> str:
    """A digest of a figure's data (numbers or labels) for layout.datarevision: while it stays
    the same, the browser's Plotly.react skips the data and redraws only what changed (a moved
    outline); any change of the data changes it."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        array = np.ascontiguousarray(part)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def layout(title: str | None = None, height: int = 360, **extra: object) -> dict[str, object]:
    """The shared layout (size, margins, font) as a plain dict; `extra` keys replace its keys."""
    base: dict[str, object] = {"height": height, "font": {"size": 13},
                               "margin": {"l": 40, "r": 20, "t": 50 if title else 20, "b": 40}}
    if title:
        base["title"] = {"text": title}
    return {**base, **extra}


def figure(traces: list[dict], title: str | None = None, height: int = 360,
           **layout_extra: object) -> go.Figure:
    """A figure built in one step from plain dicts (each trace names its "type").

    Plotly validates the whole spec once here. Built call by call (add_bar, update_layout,
    update_xaxes, add_shape) it validates and copies at every call: 5-8x slower, and it is paid
    on every slider move (measured in benchmarks/app_latency.py)."""
    return go.Figure(data=traces, layout=layout(title, height, **layout_extra))

