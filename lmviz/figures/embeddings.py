"""Embedding figures: the vocabulary in PCA space, nearest neighbours, cosine and position heatmaps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lmviz.embeddings import token_kind
from lmviz.figures.style import (
    DIVERGING_SCALE,
    KIND_COLORS,
    TRAIN_COLOR,
    base_layout,
    show_whitespace,
)
from lmviz.tokenizers import UNK

MAX_TEXT_LABELS = 150  # above this many points, labels only on hover


def vocabulary_kinds(vocab: Sequence[str]) -> list[str]:
    """token_kind of every piece; the <unk> token is 'other', not punctuation."""
    return ["other" if piece == UNK else token_kind(piece) for piece in vocab]


def figure_embedding_scatter(coords: np.ndarray, vocab: Sequence[str], ratio: np.ndarray,
                             title: str | None = None) -> go.Figure:
    """Every token at its PCA coordinates (2 or 3 columns), one trace per kind, id in the hover."""
    dims = coords.shape[1]
    if dims not in (2, 3) or len(coords) != len(vocab):
        raise ValueError(f"need (len(vocab), 2 or 3) coordinates, got {coords.shape} for {len(vocab)} tokens")
    kinds = np.array(vocabulary_kinds(vocab))
    labels = [show_whitespace(piece) for piece in vocab]
    mode = "markers+text" if len(vocab) <= MAX_TEXT_LABELS else "markers"
    fig = go.Figure()
    for kind, color in KIND_COLORS.items():
        ids = np.flatnonzero(kinds == kind)
        if not len(ids):
            continue
        common = {
            "mode": mode, "name": kind, "text": [labels[i] for i in ids],
            "customdata": ids, "textposition": "top center",
            "marker": {"color": color, "size": 6 if dims == 3 else 9,
                       "line": {"width": 0.5, "color": "white"}},
            "hovertemplate": "%{text} · id %{customdata}<extra>" + kind + "</extra>",
        }
        if dims == 2:
            fig.add_scatter(x=coords[ids, 0], y=coords[ids, 1], **common)
        else:
            fig.add_scatter3d(x=coords[ids, 0], y=coords[ids, 1], z=coords[ids, 2], **common)
    names = [f"PC{i + 1} ({100 * r:.0f}% of variance)" for i, r in enumerate(ratio[:dims])]
    if dims == 2:
        fig.update_xaxes(title=names[0], zeroline=False)
        fig.update_yaxes(title=names[1], zeroline=False)
    else:
        fig.update_layout(scene={"xaxis_title": names[0], "yaxis_title": names[1],
                                 "zaxis_title": names[2]})
    fig.update_layout(legend={"title": "kind"})
    return base_layout(fig, title, height=520)


def figure_neighbours(neighbours: Sequence[tuple[int, float]], vocab: Sequence[str],
                      token_id: int, title: str | None = None) -> go.Figure:
    """Horizontal bars of cosine similarity to `token_id`, most similar on top."""
    labels = [f"{show_whitespace(vocab[i])} · {i}" for i, _ in neighbours]
    sims = [s for _, s in neighbours]
    fig = go.Figure()
    fig.add_bar(x=sims, y=labels, orientation="h", marker_color=TRAIN_COLOR,
                text=[f"{s:.2f}" for s in sims], textposition="auto",
                hovertemplate="%{y}: cosine %{x:.3f}<extra></extra>")
    fig.update_xaxes(title=f"cosine similarity to {show_whitespace(vocab[token_id])!r}",
                     range=[min(0.0, *sims) if sims else 0.0, 1.0])
    fig.update_yaxes(autorange="reversed", type="category")
    return base_layout(fig, title, height=max(240, 28 * len(neighbours) + 80))


def figure_cosine_heatmap(sims: np.ndarray, labels: Sequence[str], title: str | None = None,
                          axis_title: str = "token", height: int | None = None) -> go.Figure:
    """Pairwise cosine similarity on the diverging scale, fixed to [-1, 1] so charts compare."""
    labels = list(labels)
    fig = go.Figure(go.Heatmap(
        z=sims, x=labels, y=labels, zmin=-1.0, zmax=1.0, colorscale=DIVERGING_SCALE,
        colorbar={"title": "cosine"},
        hovertemplate="%{y} vs %{x}: %{z:.2f}<extra></extra>",
    ))
    fig.update_xaxes(title=axis_title, type="category", tickangle=-60)
    fig.update_yaxes(title=axis_title, type="category", autorange="reversed")
    side = height or min(620, max(320, 14 * len(labels) + 140))
    return base_layout(fig, title, height=side)


def figure_positional(positional: np.ndarray, title: str | None = None) -> go.Figure:
    """Learned positional embeddings, positions down and dimensions across, centred on zero."""
    bound = float(np.abs(positional).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=positional, zmin=-bound, zmax=bound, colorscale=DIVERGING_SCALE,
        colorbar={"title": "value"},
        hovertemplate="position %{y}, dimension %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title="dimension")
    fig.update_yaxes(title="position", autorange="reversed")
    return base_layout(fig, title, height=420)


def pick_token(vocab: Sequence[str], preferred: Sequence[str] = ("e", " the", "the", "a")) -> int:
    """A token worth looking up first: a preferred piece if the vocabulary has one, else its
    first letter token, else id 0."""
    index = {piece: i for i, piece in enumerate(vocab)}
    for piece in preferred:
        if piece in index:
            return index[piece]
    kinds = vocabulary_kinds(vocab)
    return next((i for i, kind in enumerate(kinds) if kind == "letter"), 0)


def neighbour_rows(neighbours: Sequence[tuple[int, float]], vocab: Sequence[str]) -> list[dict]:
    """Table rows for nearest neighbours: token (whitespace shown), id, kind, cosine."""
    kinds = vocabulary_kinds(vocab)
    return [{"token": show_whitespace(vocab[i]), "id": i, "kind": kinds[i], "cosine": round(s, 3)}
            for i, s in neighbours]
