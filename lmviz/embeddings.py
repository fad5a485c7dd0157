"""Embedding probes: PCA projections and cosine similarity."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lmviz.tokenizers import UNK


def pca(matrix: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto the top `dims` principal axes: (coords (N, dims), explained variance ratio)."""
    if dims < 1:
        raise ValueError("dims must be >= 1")
    centered = matrix - matrix.mean(axis=0, keepdims=True)
    _, singular, axes = np.linalg.svd(centered.astype(np.float64), full_matrices=False)
    found = min(dims, axes.shape[0])  # at most min(N, D) axes exist
    variance = singular**2
    ratio = variance[:found] / variance.sum() if variance.sum() > 0 else np.zeros(found)
    coords = centered @ axes[:found].T
    if found < dims:  # pad with zero axes: callers always get (N, dims)
        coords = np.pad(coords, ((0, 0), (0, dims - found)))
        ratio = np.pad(ratio, (0, dims - found))
    return coords, ratio


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of rows, (N, N)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def nearest_neighbours(matrix: np.ndarray, index: int, k: int = 10) -> list[tuple[int, float]]:
    """The k rows most cosine-similar to row `index` (itself excluded), best first."""
    if not 0 <= index < len(matrix):
        raise ValueError(f"token id {index} is out of range 0..{len(matrix) - 1}")
    norms = np.linalg.norm(matrix, axis=1)
    sims = matrix @ matrix[index] / np.maximum(norms * norms[index], 1e-12)
    sims[index] = -np.inf
    order = np.argsort(-sims, kind="stable")
    order = order[order != index][:k]  # k >= N would otherwise reach itself at -inf
    return [(int(i), float(sims[i])) for i in order]


def token_kind(piece: str) -> str:
    """letter, word (more than one letter: a word or a piece of one; or one letter after a
    space, a whole word like " a"), digit, whitespace, punctuation or other (mixed pieces go by their
    first visible char); a newline is whitespace, not "a space"."""
    visible = piece.strip() or piece
    if not visible:
        return "other"
    if not piece.strip():
        return "whitespace"
    ch = visible[0]
    if ch.isalpha():
        return "word" if sum(c.isalpha() for c in visible) > 1 or piece[0].isspace() else "letter"
    if ch.isdigit():
        return "digit"
    if unicodedata.category(ch).startswith("P") or unicodedata.category(ch).startswith("S"):
        return "punctuation"
    return "other"


def vocabulary_kinds(vocab: Sequence[str]) -> list[str]:
    """token_kind of every piece; the <unk> token is 'other', not punctuation."""
    return ["other" if piece == UNK else token_kind(piece) for piece in vocab]


@dataclass(frozen=True)
class KindAgreement:
    """How many of a token's nearest neighbours share its kind, beside what chance would give."""

    kind: str
    same: int
    total: int
    expected: float  # neighbours drawn at random from the rest of the vocabulary

    @property
    def margin(self) -> float:
        """How far a random draw's count strays from `expected` as a matter of course: two
        standard deviations of it, and at least a neighbour."""
        share = self.expected / self.total if self.total else 0.0
        return max(1.0, 2 * math.sqrt(self.total * share * (1 - share)))

    @property
    def telling(self) -> bool:
        """Whether the count differs from chance by more than `margin`. Within it, the
        neighbours' kind says nothing the vocabulary's make-up would not."""
        return abs(self.same - self.expected) >= self.margin


def kind_agreement(vocab: Sequence[str], token_id: int, neighbours: Sequence[tuple[int, float]]) -> KindAgreement:
    kinds = vocabulary_kinds(vocab)
    kind = kinds[token_id]
    others = [k for i, k in enumerate(kinds) if i != token_id]
    share = others.count(kind) / len(others) if others else 0.0
    same = sum(kinds[i] == kind for i, _ in neighbours)
    return KindAgreement(kind, same, len(neighbours), share * len(neighbours))


def position_similarity(positions: np.ndarray, far: int = 16) -> tuple[float, float] | None:
    """Mean cosine between neighbouring positions and between positions `far` or more apart
    (None when there are not that many positions)."""
    if len(positions) <= far:
        return None
    sims = cosine_matrix(positions)
    gaps = np.abs(np.subtract.outer(np.arange(len(positions)), np.arange(len(positions))))
    return float(sims[gaps == 1].mean()), float(sims[gaps >= far].mean())
