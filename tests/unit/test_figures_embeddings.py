"""Embedding figures (lmviz/figures/embeddings.py) and the run's embedding weights (probes)."""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest

from lmviz.embeddings import KindAgreement, cosine_matrix, nearest_neighbours, pca
from lmviz.figures.embeddings import (
    LABEL_CHAR_WIDTH,
    LABEL_HEIGHT,
    MAX_TEXT_LABELS,
    agreement_text,
    figure_cosine_heatmap,
    figure_embedding_scatter,
    figure_neighbours,
    figure_positional,
    neighbour_rows,
    pick_token,
    scatter_caption,
    spaced_labels,
    vocabulary_kinds,
)
from lmviz.figures.style import DIVERGING_SCALE, KIND_COLORS
from lmviz.probes import embedding_weights, trace_text
from lmviz.run import Run
from lmviz.tokenizers import UNK

VOCAB = [UNK, " ", "\n", "a", "e", "b", "1", "2", ".", ",", " the"]


def points(rows: int, dims: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dims))


def test_vocabulary_kinds() -> None:
    assert vocabulary_kinds(VOCAB) == ["other", "whitespace", "whitespace", "letter", "letter", "letter",
                                       "digit", "digit", "punctuation", "punctuation", "word"]


@pytest.mark.parametrize("dims", [2, 3])
def test_scatter_one_trace_per_kind_with_every_token(dims: int) -> None:
    coords, ratio = pca(points(len(VOCAB), 8), dims)
    fig = figure_embedding_scatter(coords, VOCAB, ratio)
    assert [t.name for t in fig.data] == ["letter", "word", "digit", "whitespace", "punctuation", "other"]
    assert {t.type for t in fig.data} == {"scatter" if dims == 2 else "scatter3d"}
    assert all(t.marker.color == KIND_COLORS[t.name] for t in fig.data)
    ids = sorted(int(i) for t in fig.data for _, i in t.customdata)
    assert ids == list(range(len(VOCAB)))
    letters = fig.data[0]
    assert [label for label, _ in letters.customdata] == ["a", "e", "b"]
    assert [label for label, _ in fig.data[1].customdata] == ["␣the"]
    np.testing.assert_allclose(letters.x, coords[[3, 4, 5], 0])
    assert len(set(KIND_COLORS.values())) == len(KIND_COLORS)  # a word is not drawn as a letter
    assert "%{customdata[0]} · id %{customdata[1]}" in letters.hovertemplate
    if dims == 3:  # no label but the ringed ones': a turning cube has no place where they keep apart
        assert list(letters.text) == ["", "", ""] and letters.mode == "markers"
        ringed = figure_embedding_scatter(coords, VOCAB, ratio, chosen=3, neighbours=[5])
        # a ringed token's label is its ring's (above the ring, not under it); in 3-D, no tags
        assert list(ringed.data[0].text) == ["", "", ""] and ringed.data[0].mode == "markers"
        assert [list(t.text) for t in ringed.data[-2:]] == [["a"], ["b"]]
    if dims == 2:
        assert fig.layout.xaxis.title.text == f"PC1 ({100 * ratio[0]:.1f}% of variance)"
    else:
        # short 3-D titles: "PC2 (7.7% of variance)" ran off the scene, cut at "of varia"
        names = [fig.layout.scene[axis].title.text for axis in ("xaxis", "yaxis", "zaxis")]
        assert names == [f"PC{i + 1} · {100 * r:.1f}%" for i, r in enumerate(ratio)]
        assert fig.layout.margin.l == fig.layout.margin.r == fig.layout.margin.b == 0  # the scene to the edges
        assert fig.layout.scene.camera.eye.z < 1.25  # lower than the default, which cut the bottom off


def test_spaced_labels_never_overlap_and_keep_the_ringed_ones() -> None:
    rng = np.random.default_rng(3)
    coords = np.concatenate([rng.normal(0, 0.05, (40, 2)), rng.uniform(-3, 3, (20, 2))])
    labels = [chr(ord("a") + i % 26) * (1 + i % 3) for i in range(len(coords))]
    first = [0, 1, 2]  # deep in the crowded middle, one on top of another
    coords[1] = coords[0]
    shown = spaced_labels(coords, labels, first)
    assert shown[first].all() and 10 < shown.sum() < len(coords)  # the crowd loses labels
    xy = (coords - coords.min(axis=0)) / np.ptp(coords, axis=0)
    widths = np.array([LABEL_CHAR_WIDTH * len(label) for label in labels])
    for i, j in itertools.combinations(np.flatnonzero(shown), 2):
        if i in first and j in first:
            continue
        overlap = (abs(xy[i, 0] - xy[j, 0]) < (widths[i] + widths[j]) / 2
                   and abs(xy[i, 1] - xy[j, 1]) < LABEL_HEIGHT)
        assert not overlap, (i, j)
    far = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert spaced_labels(far, ["a", "b", "c", "d"]).all()  # room for every label
    assert spaced_labels(np.zeros((3, 2)), ["a", "b", "c"]).sum() == 1  # one place, one label
    # a point drawn nowhere (NaN) shows no label, and the others are spaced as before (every
    # label showed when one coordinate was NaN)
    crowd = np.concatenate([np.zeros((3, 2)), [[np.nan, 0.0]]])
    assert spaced_labels(crowd, ["a", "b", "c", "d"], first=[3]).tolist() == [True, False, False, False]
    assert not spaced_labels(np.full((2, 2), np.nan), ["a", "b"]).any()


def test_scatter_rings_the_chosen_token_and_its_neighbours() -> None:
    coords, ratio = pca(points(len(VOCAB), 8), 2)
    fig = figure_embedding_scatter(coords, VOCAB, ratio, chosen=3, neighbours=[4, 6])
    chosen, neighbours = fig.data[-2:]
    assert chosen.marker.symbol == neighbours.marker.symbol == "circle-open"
    assert chosen.marker.size > neighbours.marker.size and chosen.hoverinfo == "skip"
    np.testing.assert_allclose([chosen.x[0], chosen.y[0]], coords[3])
    np.testing.assert_allclose(neighbours.x, coords[[4, 6], 0])
    text = {int(i): t for trace in fig.data[:-2] for (_, i), t in zip(trace.customdata, trace.text, strict=True)}
    assert text[3] == text[4] == text[6] == ""  # ringed: labelled by their rings, above them
    assert list(chosen.text) == ["<b>a</b>"] and list(neighbours.text) == ["e", "1"]
    assert chosen.mode == neighbours.mode == "markers+text"
    assert len(figure_embedding_scatter(coords, VOCAB, ratio).data) == len(fig.data) - 2
    # in 3-D every ring is one line wide: the chosen token's is a diamond there
    cube_coords, cube_ratio = pca(points(len(VOCAB), 8), 3)
    cube = figure_embedding_scatter(cube_coords, VOCAB, cube_ratio, chosen=3, neighbours=[4])
    assert [t.marker.symbol for t in cube.data[-2:]] == ["diamond-open", "circle-open"]
    # no chosen token (or one out of range): no thick ring, and no neighbour takes its place
    names = [t.name for t in figure_embedding_scatter(coords, VOCAB, ratio, chosen=99, neighbours=[-1, 4]).data]
    assert "ring: chosen" not in names and names[-1] == "ring: neighbours"


def test_scatter_caption_names_the_ring_and_the_hover() -> None:
    letters = [UNK, " ", "\n", ".", *"abcdefg"]
    text = scatter_caption(32, np.array([0.08718, 0.07532]), " ", 10, letters)
    # the total is the parts' (16.25% had read 16.3 beside 8.7 + 7.5)
    assert "keep **16.2% of the variance** (PC1 8.7%, PC2 7.5%)" in text
    assert "chosen below, **␣**, the thin rings its 10 nearest neighbours" in text
    assert "Labels only where they would not overlap" in text
    cube = scatter_caption(32, np.array([0.1, 0.1, 0.1]), "e", 1, letters)
    assert "Labels only" not in cube and "The open diamond is the token chosen below" in cube  # 3-D
    assert "The thick ring is the token chosen below" in text
    assert "1 nearest neighbour by direction (cosine over all 32 dimensions" in scatter_caption(
        32, np.array([0.1, 0.1]), "e", 1, letters)
    # only kinds the vocabulary has: no digits asked about where there are none
    assert "Look for groups: do whitespace and punctuation keep apart from letters?" in text
    digits = scatter_caption(32, np.array([0.1, 0.1]), "e", 1, [*letters, "7"])
    assert "Look for groups: do digits gather, do whitespace and punctuation keep apart from letters?" in digits
    words = scatter_caption(32, np.array([0.1, 0.1]), "e", 1, [UNK, " the", " cat", "."])
    assert "Look for groups: does punctuation keep apart from words?" in words
    assert "The picture shows distance, not direction: a ring can sit far" in text


def test_scatter_big_vocabulary_hover_only_and_bad_shapes() -> None:
    vocab = [f"t{i}" for i in range(MAX_TEXT_LABELS + 1)]
    coords, ratio = pca(points(len(vocab), 4), 2)
    assert figure_embedding_scatter(coords, vocab, ratio).data[0].mode == "markers"
    ringed = figure_embedding_scatter(coords, vocab, ratio, chosen=5, neighbours=[7])
    assert not any(t for trace in ringed.data[:-2] for t in trace.text)  # only the ringed ones, by
    assert [list(t.text) for t in ringed.data[-2:]] == [["<b>t5</b>"], ["t7"]]  # their rings
    with pytest.raises(ValueError):
        figure_embedding_scatter(coords[:, :1], vocab, ratio)
    with pytest.raises(ValueError):
        figure_embedding_scatter(coords[:-1], vocab, ratio)


def test_neighbours_figure_and_rows() -> None:
    matrix = points(len(VOCAB), 6, seed=1)
    matrix[4] = 3 * matrix[3]  # 'e' points the same way as 'a'
    found = nearest_neighbours(matrix, 3, k=5)
    fig = figure_neighbours(found, VOCAB, 3)
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.x) == [s for _, s in found] and bar.y[0] == "e · 4"
    assert fig.layout.yaxis.autorange == "reversed"
    assert "'a'" in fig.layout.xaxis.title.text
    rows = neighbour_rows(found, VOCAB)
    assert rows[0] == {"token": "e", "id": 4, "kind": "letter", "cosine": 1.0}
    assert [r["id"] for r in rows] == [i for i, _ in found]


def test_agreement_text_compares_with_chance_only_when_it_differs() -> None:
    letters = KindAgreement("letter", 9, 10, 3.1)
    assert agreement_text(letters, "e") == (
        "Here 9 of the 10 are a letter like “e”; 10 tokens picked at random would give about 3.1.")
    words = agreement_text(KindAgreement("word", 9, 10, 9.3), "␣the")
    assert words.startswith("Here 9 of the 10 are a word like “␣the”, within what 10 tokens picked at "
                            "random would give (9.3, give or take 1.6)")
    assert words.endswith("1.6): their kind alone does not set them apart. Most of this vocabulary is "
                          "words, so read the neighbours themselves: do they play the same part in a "
                          "sentence?")
    assert agreement_text(KindAgreement("letter", 3, 10, 3.1), "e").endswith("does not set them apart.")
    assert agreement_text(KindAgreement("word", 3, 10, 3.1), "e").endswith("does not set them apart.")
    assert agreement_text(KindAgreement("digit", 1, 10, 0.2), "7").startswith("Here 1 of the 10 is a digit")
    fewer = agreement_text(KindAgreement("letter", 2, 10, 7.1), "e")
    assert fewer == ("Here 2 of the 10 are a letter like “e”, fewer than 10 tokens picked at random "
                     "would give (about 7.1): being a letter is not what brings them close.")
    # 5 against 7.1 is within what random draws vary by (a spread of 1.4): no claim either way
    assert "does not set them apart" in agreement_text(KindAgreement("letter", 5, 10, 7.1), "e")


def test_cosine_heatmap_is_fixed_to_plus_minus_one() -> None:
    sims = cosine_matrix(points(5, 3))
    labels = [f"{i}:x" for i in range(5)]
    fig = figure_cosine_heatmap(sims, labels, "t", axis_title="position", height=400)
    (heat,) = fig.data
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
    assert list(heat.x) == labels and list(heat.y) == labels
    np.testing.assert_allclose(np.array(heat.z), sims)
    assert fig.layout.height == 400 and fig.layout.xaxis.title.text == "position"
    assert heat.colorscale == go.Heatmap(colorscale=DIVERGING_SCALE).colorscale
    assert figure_cosine_heatmap(sims, labels).layout.height >= 320


def test_positional_heatmap_is_centred_on_zero() -> None:
    positional = points(16, 8) * 0.1
    positional[2, 3] = -0.9
    (heat,) = figure_positional(positional).data
    assert (heat.zmin, heat.zmax) == pytest.approx((-0.9, 0.9))
    assert np.array(heat.z).shape == (16, 8)
    (flat,) = figure_positional(np.zeros((4, 2))).data
    assert (flat.zmin, flat.zmax) == (-1.0, 1.0)
    assert heat.colorscale == go.Heatmap(colorscale=DIVERGING_SCALE).colorscale


def test_pick_token() -> None:
    assert pick_token(VOCAB) == 4  # 'e'
    assert pick_token(["<unk>", "1", "x", "y"]) == 2  # first letter
    assert pick_token(["<unk>", "1", "."]) == 0


def test_embedding_weights_of_runs(lstm_run: Run, gpt_run: Run) -> None:
    tokens, positions = embedding_weights(lstm_run)
    assert tokens.shape == (lstm_run.tokenizer.vocab_size, lstm_run.model_config.embed_size)
    assert positions is None
    trace = trace_text(lstm_run, "the sea").trace
    np.testing.assert_array_equal(tokens, trace.embeddings)
    np.testing.assert_array_equal(tokens[trace.ids], trace.inputs)  # the LSTM's input is the row
    tokens[:] = 0.0  # a copy: the frozen run is untouched
    assert np.abs(embedding_weights(lstm_run)[0]).sum() > 0

    tokens, positions = embedding_weights(gpt_run)
    width, context = gpt_run.model_config.hidden_size, gpt_run.model_config.context
    assert tokens.shape == (gpt_run.tokenizer.vocab_size, width)
    assert positions is not None and positions.shape == (context, width)
    np.testing.assert_array_equal(positions, trace_text(gpt_run, "the sea").trace.positional)


def test_token_text_in_every_embeddings_chart_is_escaped_for_plotly() -> None:
    """Plotly reads <b>, <br> and <a> in its text: a token is shown as its characters."""
    vocab = [UNK, "<b>x</b>", "a", "e", "&"]
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    scatter = figure_embedding_scatter(coords, vocab, np.array([0.5, 0.3]), chosen=1).to_dict()
    texts = [t for trace in scatter["data"] for t in trace.get("text") or []]
    hovers = [row[0] for trace in scatter["data"] for row in trace.get("customdata") or []]
    # the chosen token's label is bold: the only tags are the app's own, around it
    assert "<b>&lt;b&gt;x&lt;/b&gt;</b>" in texts and "&lt;b&gt;x&lt;/b&gt;" in hovers and "&amp;" in hovers
    labels = [t.removeprefix("<b>").removesuffix("</b>") for t in texts]
    assert not any("<b>" in t for t in labels + hovers)
    cube = figure_embedding_scatter(np.c_[coords, coords[:, 0]], vocab, np.array([0.5, 0.3, 0.1]), chosen=0).to_dict()
    texts_3d = [t for trace in cube["data"] for t in trace.get("text") or []]
    assert "<unk>" in texts_3d  # WebGL draws text as it is: escaped, it read "&lt;unk&gt;"
    bars = figure_neighbours([(1, 0.9), (4, 0.5)], vocab, 1).to_dict()
    assert list(bars["data"][0]["y"]) == ["&lt;b&gt;x&lt;/b&gt; · 1", "&amp; · 4"]
    assert "<b>" not in bars["layout"]["xaxis"]["title"]["text"]
    heat = figure_cosine_heatmap(np.eye(2), ["0:<b>x</b>", "1:a"]).to_dict()
    assert list(heat["data"][0]["x"]) == ["0:&lt;b&gt;x&lt;/b&gt;", "1:a"]


def test_agreement_text_for_a_kind_of_its_own() -> None:
    """<unk> is the one 'other' token: 'Here 0 of the 10 are a other like “<unk>”, within what 10
    tokens picked at random would give (0.0, give or take 1.0)'."""
    assert agreement_text(KindAgreement("other", 0, 10, 0.0), "<unk>") == (
        "“<unk>” is the only token of its kind (other) in this vocabulary, so none of its neighbours "
        "can share it: read them for what they are.")
    assert "Here 1 of the 10 is a whitespace token like “↵”" in agreement_text(
        KindAgreement("whitespace", 1, 10, 0.4), "↵")
