"""Embedding figures: the vocabulary in PCA space, nearest neighbours, cosine and position heatmaps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lmviz.embeddings import KindAgreement, vocabulary_kinds
from lmviz.figures.labels import markdown_piece, plotly_label
from lmviz.figures.style import (
    DIVERGING_SCALE,
    KIND_COLORS,
    LEGEND_ABOVE,
    TRAIN_COLOR,
    figure,
    show_whitespace,
)
from lmviz.text import agreeing, counted

MAX_TEXT_LABELS = 150  # above this many points, labels only on hover
# A 2-D label's room as a share of the axes' ranges: per character across, and its line's
# height (a chart ~700 px wide and ~400 high on a laptop; a phone's is narrower and keeps fewer)
LABEL_CHAR_WIDTH = 0.016
LABEL_HEIGHT = 0.05
RING_COLOR = "#222222"


def spaced_labels(coords: np.ndarray, labels: Sequence[str], first: Sequence[int] = ()) -> np.ndarray:
    """Which points of a 2-D scatter show their label (a bool per point): those in `first`, then,
    most isolated first, each one whose label would not overlap a label already shown. The others
    show theirs on hover: in the dense middle of a PCA picture, overlapping labels read as none.
    A point without finite coordinates shows none (it is drawn nowhere)."""
    finite = np.isfinite(coords[:, :2]).all(axis=1)
    if not finite.any():
        return np.zeros(len(coords), dtype=bool)
    low, high = coords[finite, :2].min(axis=0), coords[finite, :2].max(axis=0)
    xy = (coords[:, :2] - low) / np.where(high > low, high - low, 1.0)
    widths = np.array([LABEL_CHAR_WIDTH * max(1, len(label)) for label in labels])
    crowded = ((np.abs(xy[:, None, 0] - xy[None, :, 0]) < LABEL_CHAR_WIDTH * 3)
               & (np.abs(xy[:, None, 1] - xy[None, :, 1]) < LABEL_HEIGHT)).sum(axis=1)
    shown = np.zeros(len(xy), dtype=bool)
    shown[[i for i in first if finite[i]]] = True
    for i in (i for i in np.argsort(crowded, kind="stable") if finite[i]):
        clash = (shown & (np.abs(xy[:, 0] - xy[i, 0]) < (widths + widths[i]) / 2)
                 & (np.abs(xy[:, 1] - xy[i, 1]) < LABEL_HEIGHT))
        if not shown[i] and not clash.any():
            shown[i] = True
    return shown


def figure_embedding_scatter(coords: np.ndarray, vocab: Sequence[str], ratio: np.ndarray,
                             title: str | None = None, chosen: int | None = None,
                             neighbours: Sequence[int] = ()) -> go.Figure:
    """Every token at its PCA coordinates (2 or 3 columns), one trace per kind, token and id in
    the hover; `chosen` and its `neighbours` ringed, their labels always shown. In 2-D, labels
    that would overlap show on hover only (`spaced_labels`); in 3-D and past MAX_TEXT_LABELS,
    only the ringed ones are labelled."""
    dims = coords.shape[1]
    if dims not in (2, 3) or len(coords) != len(vocab):
        raise ValueError(f"need (len(vocab), 2 or 3) coordinates, got {coords.shape} for {len(vocab)} tokens")
    kinds = np.array(vocabulary_kinds(vocab))
    labels = [show_whitespace(piece) for piece in vocab]
    inside = [i for i in ([chosen] if chosen is not None else []) if 0 <= i < len(vocab)]
    near = [i for i in neighbours if 0 <= i < len(vocab) and i not in inside]
    ringed = inside + near
    if dims == 2 and len(vocab) <= MAX_TEXT_LABELS:
        shown = spaced_labels(coords, labels, ringed)
    else:  # a turning cube has no one place where labels keep apart: every label piled up there
        shown = np.isin(np.arange(len(vocab)), ringed)

    def text(i: int) -> str:  # 3-D text is drawn as it is (WebGL reads no tags there): escaped,
        return plotly_label(labels[i]) if dims == 2 else labels[i]  # it read "&lt;unk&gt;"

    traces = []
    for kind, color in KIND_COLORS.items():
        ids = np.flatnonzero(kinds == kind)
        if not len(ids):
            continue
        position = {"x": coords[ids, 0], "y": coords[ids, 1]}
        if dims == 3:
            position["z"] = coords[ids, 2]
        traces.append({
            "type": "scatter" if dims == 2 else "scatter3d", **position,
            "mode": "markers+text" if any(shown[i] and i not in ringed for i in ids) else "markers",
            "name": kind,
            # a ringed token's label is its ring's, above the ring (here it sat under it)
            "text": [text(i) if shown[i] and i not in ringed else "" for i in ids],
            "customdata": [[plotly_label(labels[i]), int(i)] for i in ids], "textposition": "top center",
            "marker": {"color": color, "size": 6 if dims == 3 else 9,
                       "line": {"width": 0.5, "color": "white"}},
            "hovertemplate": "%{customdata[0]} · id %{customdata[1]}<extra>" + kind + "</extra>",
        })
    for name, ids, size, width in (("chosen", inside, 22, 3.0), ("neighbours", near, 16, 1.5)):
        if ids:
            ring = {"x": coords[ids, 0], "y": coords[ids, 1], **({"z": coords[ids, 2]} if dims == 3 else {})}
            # in 3-D WebGL draws every ring one line wide: the chosen token's is a diamond there
            symbol = "diamond-open" if dims == 3 and name == "chosen" else "circle-open"
            traces.append({"type": "scatter" if dims == 2 else "scatter3d", **ring, "mode": "markers+text",
                           # the chosen token's label in bold (2-D: WebGL reads no tags)
                           "text": [f"<b>{text(i)}</b>" if dims == 2 and name == "chosen" else text(i) for i in ids],
                           "textposition": "top center",
                           "marker": {"symbol": symbol, "size": size if dims == 2 else size * 0.6,
                                      "color": RING_COLOR, "line": {"width": width, "color": RING_COLOR}},
                           "name": f"ring: {name}", "hoverinfo": "skip", "showlegend": False})
    top = 60 if title else 40
    if dims == 2:
        names = [f"PC{i + 1} ({100 * r:.1f}% of variance)" for i, r in enumerate(ratio[:dims])]
        axes = {"xaxis": {"title": names[0], "zeroline": False},
                "yaxis": {"title": names[1], "zeroline": False}}
        margin = {"l": 40, "r": 20, "t": top, "b": 40}
    else:
        # short titles: "PC2 (7.7% of variance)" ran off the scene's edge, cut at "of varia" (the
        # page's caption says what the percentages are). WebGL sizes the cube by the chart's
        # height, so a narrow chart (a phone's) cuts its sides: the chart is short (400) and the
        # eye far enough (1.6, 1.6, 0.7) for the cube to fit 360 px wide. The eye is low (the
        # default 1.25 up cut the cube's bottom corner) and aimed a little below and to the left
        # of the centre, so the cube sits under the legend with room for PC3's title at its left.
        names = [f"PC{i + 1} · {100 * r:.1f}%" for i, r in enumerate(ratio[:dims])]
        axes = {"scene": {"xaxis": {"title": names[0]}, "yaxis": {"title": names[1]},
                          "zaxis": {"title": names[2]}, "aspectmode": "cube",
                          "camera": {"eye": {"x": 1.6, "y": 1.6, "z": 0.7},
                                     "center": {"x": 0.1, "y": -0.1, "z": -0.15}}}}
        margin = {"l": 0, "r": 0, "t": top, "b": 0}
    # the legend above the plot, in a row: at its right it took a phone's plot width
    return figure(traces, title, height=520 if dims == 2 else 400,
                  legend={**LEGEND_ABOVE, "title": {"text": "kind"}}, margin=margin, **axes)


def _groups_question(vocab: Sequence[str]) -> str:
    """What to look for in the scatter, of the kinds this vocabulary has (digits were asked
    about on corpora without one)."""
    kinds = set(vocabulary_kinds(vocab))
    questions = ["do digits gather"] if "digit" in kinds else []
    apart = [kind for kind in ("whitespace", "punctuation") if kind in kinds]
    texts = " and ".join(name for kind, name in (("letter", "letters"), ("word", "words")) if kind in kinds)
    if apart and texts:
        questions.append(f"{agreeing(len(apart), 'does', 'do')} {' and '.join(apart)} keep apart from {texts}")
    if not questions:
        return "Look for groups: do tokens of one kind (one color) gather? "
    return f"Look for groups: {', '.join(questions)}? "


def scatter_caption(width: int, ratio: np.ndarray, chosen: str, neighbours: int, vocab: Sequence[str]) -> str:
    """What the vocabulary scatter shows (`chosen`: the ringed token's text, `width`: the
    embedding's numbers), in markdown."""
    dims = len(ratio)
    shares = [round(100 * float(r), 1) for r in ratio]  # the total is theirs: the parts add up
    parts = ", ".join(f"PC{i + 1} {share:.1f}%" for i, share in enumerate(shares))
    hover = ("Labels only where they would not overlap another: hover (or tap) a point for its token "
             "and id." if dims == 2 and len(vocab) <= MAX_TEXT_LABELS else
             "Only the ringed tokens are labelled: hover (or tap) a point for its token and id.")
    return (f"PCA turns {width} dimensions into {dims} that keep **{sum(shares):.1f}% of the "
            f"variance** ({parts}). {_groups_question(vocab)}"
            f"The {'thick ring' if dims == 2 else 'open diamond'} is the token chosen below, "
            f"**{markdown_piece(chosen)}**, the {'thin ' if dims == 2 else ''}rings its "
            f"{counted(neighbours, 'nearest neighbour')} by direction (cosine over all {width} "
            "dimensions; the table below says how close). The picture shows distance, not "
            f"direction: a ring can sit far from the {'thick one' if dims == 2 else 'diamond'}, and a point "
            "right beside it may be "
            f"no neighbour. {hover}")


def figure_neighbours(neighbours: Sequence[tuple[int, float]], vocab: Sequence[str],
                      token_id: int, title: str | None = None) -> go.Figure:
    """Horizontal bars of cosine similarity to `token_id`, most similar on top."""
    labels = [f"{plotly_label(show_whitespace(vocab[i]))} · {i}" for i, _ in neighbours]
    sims = [s for _, s in neighbours]
    bar = {"type": "bar", "x": sims, "y": labels, "orientation": "h", "marker": {"color": TRAIN_COLOR},
           "text": [f"{s:.2f}" for s in sims], "textposition": "auto",
           "hovertemplate": "%{y}: cosine %{x:.3f}<extra></extra>"}
    return figure([bar], title, height=max(240, 28 * len(neighbours) + 80),
                  xaxis={"title": f"cosine similarity to {plotly_label(repr(show_whitespace(vocab[token_id])))}",
                         "range": [min(0.0, *sims) if sims else 0.0, 1.0]},
                  yaxis={"autorange": "reversed", "type": "category"})


def figure_cosine_heatmap(sims: np.ndarray, labels: Sequence[str], title: str | None = None,
                          axis_title: str = "token", height: int | None = None) -> go.Figure:
    """Pairwise cosine similarity on the diverging scale, fixed to [-1, 1] so charts compare."""
    labels = [plotly_label(label) for label in labels]
    heatmap = {"type": "heatmap", "z": sims, "x": labels, "y": labels, "zmin": -1.0, "zmax": 1.0,
               "colorscale": DIVERGING_SCALE, "colorbar": {"title": "cosine"},
               "hovertemplate": "%{y} vs %{x}: %{z:.2f}<extra></extra>"}
    side = height or min(620, max(320, 14 * len(labels) + 140))
    return figure([heatmap], title, height=side,
                  xaxis={"title": axis_title, "type": "category", "tickangle": -60},
                  yaxis={"title": axis_title, "type": "category", "autorange": "reversed"})


def figure_positional(positional: np.ndarray, title: str | None = None) -> go.Figure:
    """Learned positional embeddings, positions down and dimensions across, centred on zero."""
    bound = float(np.abs(positional).max()) or 1.0
    heatmap = {"type": "heatmap", "z": positional, "zmin": -bound, "zmax": bound,
               "colorscale": DIVERGING_SCALE, "colorbar": {"title": "value"},
               "hovertemplate": "position %{y}, dimension %{x}: %{z:.3f}<extra></extra>"}
    return figure([heatmap], title, height=420, xaxis={"title": "dimension"},
                  yaxis={"title": "position", "autorange": "reversed"})


def pick_token(vocab: Sequence[str], preferred: Sequence[str] = ("e", " the", "the", "a")) -> int:
    """A token worth looking up first: a preferred piece if the vocabulary has one, else its
    first letter or word token, else id 0."""
    index = {piece: i for i, piece in enumerate(vocab)}
    for piece in preferred:
        if piece in index:
            return index[piece]
    kinds = vocabulary_kinds(vocab)
    return next((i for i, kind in enumerate(kinds) if kind in ("letter", "word")), 0)


def neighbour_rows(neighbours: Sequence[tuple[int, float]], vocab: Sequence[str]) -> list[dict]:
    """Table rows for nearest neighbours: token (whitespace shown), id, kind, cosine."""
    kinds = vocabulary_kinds(vocab)
    return [{"token": show_whitespace(vocab[i]), "id": i, "kind": kinds[i], "cosine": s}
            for i, s in neighbours]  # shown to 3 decimals by the page's column format


KIND_NOUNS = {"whitespace": "whitespace token", "punctuation": "punctuation mark",
              "other": "token of another kind"}  # "a other", "a punctuation"


def agreement_text(agreement: KindAgreement, shown: str) -> str:
    """'Here 9 of the 10 are a letter like “e”; 10 tokens picked at random would give about 3.1.'
    Within a neighbour of chance the count tells nothing the vocabulary's make-up would not, and
    the sentence says so instead of setting the two side by side; below chance it says that the
    neighbours are of other kinds (set side by side, it read as support for the kind)."""
    if agreement.expected == 0:  # no other token is of its kind: no neighbour can be, by chance or not
        return (f"“{shown}” is the only token of its kind ({agreement.kind}) in this vocabulary, so "
                "none of its neighbours can share it: read them for what they are.")
    noun = KIND_NOUNS.get(agreement.kind, agreement.kind)
    kind = f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
    verb = "is" if agreement.same == 1 else "are"
    alike = f"Here {agreement.same} of the {agreement.total} {verb} {kind} like “{shown}”"
    if agreement.telling and agreement.same < agreement.expected:
        return (f"{alike}, fewer than {agreement.total} tokens picked at random would give (about "
                f"{agreement.expected:.1f}): being {kind} is not what brings them close.")
    if agreement.telling:
        return (f"{alike}; {agreement.total} tokens picked at random would give about "
                f"{agreement.expected:.1f}.")
    closer = (" Most of this vocabulary is words, so read the neighbours themselves: do they play "
              "the same part in a sentence?"
              if agreement.kind == "word" and agreement.expected > agreement.total / 2 else "")
    return (f"{alike}, within what {agreement.total} tokens picked at random would give "
            f"({agreement.expected:.1f}, give or take {agreement.margin:.1f}): their kind alone "
            f"does not set them apart.{closer}")
