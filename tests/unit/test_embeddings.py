"""PCA, cosine similarity, neighbours and token kinds."""

from __future__ import annotations

import numpy as np
import pytest

from lmviz.embeddings import (
    KindAgreement,
    cosine_matrix,
    kind_agreement,
    nearest_neighbours,
    pca,
    position_similarity,
    token_kind,
)


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def test_pca_of_rank_two_matrix() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 7)) + rng.normal(size=7)
    coords, ratio = pca(matrix, dims=2)
    assert coords.shape == (40, 2) and ratio.shape == (2,)
    assert ratio.sum() == pytest.approx(1.0, abs=1e-9)
    assert ratio[0] >= ratio[1] > 0
    # two dimensions hold everything: the projection keeps every distance
    np.testing.assert_allclose(pairwise_distances(coords), pairwise_distances(matrix), atol=1e-9)
    _, ratio3 = pca(matrix, dims=3)
    assert ratio3[2] == pytest.approx(0.0, abs=1e-12)


def test_pca_of_full_rank_matrix_explains_less() -> None:
    matrix = np.random.default_rng(1).normal(size=(50, 6))
    coords, ratio = pca(matrix, dims=2)
    assert 0.2 < ratio.sum() < 0.9
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-9)
    with pytest.raises(ValueError):
        pca(matrix, dims=0)


def test_pca_asking_for_more_axes_than_exist_pads_with_zeros() -> None:
    matrix = np.random.default_rng(5).normal(size=(6, 2))  # two axes at most
    coords, ratio = pca(matrix, dims=3)
    assert coords.shape == (6, 3) and ratio.shape == (3,)
    assert (coords[:, 2] == 0).all() and ratio[2] == 0
    assert ratio.sum() == pytest.approx(1.0)
    coords, ratio = pca(np.ones((4, 3)), dims=2)  # no variance at all
    assert coords.shape == (4, 2) and (ratio == 0).all()


def test_cosine_matrix() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [1.0, 1.0]])
    sims = cosine_matrix(vectors)
    np.testing.assert_allclose(np.diag(sims), 1.0)
    np.testing.assert_allclose(sims, sims.T)
    assert sims[0, 1] == pytest.approx(0.0)
    assert sims[0, 2] == pytest.approx(-1.0)
    assert sims[0, 3] == pytest.approx(1 / np.sqrt(2))
    random = np.random.default_rng(2).normal(size=(20, 5))
    sims = cosine_matrix(random)
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-12)
    assert sims.min() >= -1.0 and sims.max() <= 1.0


def test_nearest_neighbours_sorted_and_without_itself() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(30, 4))
    matrix[17] = 2.5 * matrix[4]  # same direction as row 4
    found = nearest_neighbours(matrix, 4, k=8)
    assert len(found) == 8
    assert 4 not in [i for i, _ in found]
    assert found[0] == (17, pytest.approx(1.0))
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    expected = cosine_matrix(matrix)[4]
    for index, sim in found:
        assert sim == pytest.approx(expected[index])


def test_nearest_neighbours_with_k_beyond_the_rows() -> None:
    matrix = np.random.default_rng(4).normal(size=(5, 3))
    found = nearest_neighbours(matrix, 0, k=10)
    assert sorted(i for i, _ in found) == [1, 2, 3, 4]
    assert all(np.isfinite(s) for _, s in found)
    with pytest.raises(ValueError):
        nearest_neighbours(matrix, 5)


@pytest.mark.parametrize(
    ("piece", "kind"),
    [("a", "letter"), (" a", "word"), ("\nI", "word"), (" the", "word"), ("don't", "word"), ("É", "letter"), ("7", "digit"), (" 42", "digit"),
     (" ", "whitespace"), ("\n", "whitespace"), ("  \t", "whitespace"), (".", "punctuation"),
     (" (", "punctuation"), ("+", "punctuation"), ("", "other"), ("\u0301", "other")],
)
def test_token_kind(piece: str, kind: str) -> None:
    assert token_kind(piece) == kind


def test_kind_agreement_counts_neighbours_of_the_same_kind_against_chance() -> None:
    vocab = ["a", "b", "c", "1", "2", " "]
    found = kind_agreement(vocab, 0, [(1, 0.9), (3, 0.8), (2, 0.5)])
    assert (found.kind, found.same, found.total) == ("letter", 2, 3)
    assert found.expected == pytest.approx(3 * 2 / 5)  # 2 of the other 5 tokens are letters
    assert not found.telling  # 2 against 1.2: within one neighbour of chance


def test_kind_agreement_words_unknown_and_chance() -> None:
    vocab = ["<unk>", " the", " a", " keeper", " of", ".", "(", " sea"]
    found = kind_agreement(vocab, 1, [(3, 0.9), (4, 0.8), (7, 0.7), (0, 0.6)])
    assert (found.kind, found.same, found.total) == ("word", 3, 4)  # '<unk>' is no punctuation
    # 3 of 4 against 2.3 by chance (" a" is a word too): within two spreads of a random draw's count
    assert found.expected == pytest.approx(4 * 4 / 7) and not found.telling
    assert KindAgreement("letter", 9, 10, 3.1).telling  # 5.9 over, a spread of 1.5
    assert not KindAgreement("letter", 5, 10, 7.1).telling  # 2.1 under, a spread of 1.4
    assert kind_agreement(vocab, 5, [(0, 0.9), (6, 0.8)]).same == 1  # '(' only, not '<unk>'
    crowded = kind_agreement(["x", "ab", "cd", "ef", "gh"], 1, [(2, 0.9), (3, 0.8), (0, 0.1)])
    assert (crowded.same, crowded.expected, crowded.telling) == (2, 2.25, False)


def test_position_similarity_near_and_far() -> None:
    angles = np.linspace(0, np.pi, 40)[:, None]  # a smooth walk: neighbours alike, ends opposite
    positions = np.hstack([np.cos(angles), np.sin(angles)])
    near, far = position_similarity(positions, far=16)
    assert near == pytest.approx(np.cos(np.pi / 39)) and far < near
    assert position_similarity(positions[:10], far=16) is None
