"""One query's attention, step by step, from a GPT trace: q·k for every earlier key, the scaling
by √d, the softmax, and the weighted sum of value vectors. Plus a prefix-matching ("induction")
score per head. Pure numpy, no Streamlit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from lmviz.models import Trace


class AttentionError(ValueError):
    """A layer, head or query out of range, or a trace without attention; for the user."""


@dataclass(frozen=True)
class QueryStep:
    layer: int
    head: int
    query: int  # position of the query token; keys are 0..query (the causal mask hides the rest)
    head_size: int
    scores: np.ndarray  # (query+1,) raw q·k_j
    scaled: np.ndarray  # (query+1,) q·k_j / √d
    weights: np.ndarray  # (query+1,) softmax of scaled, sums to 1
    values: np.ndarray  # (query+1, d) value vectors v_j
    output: np.ndarray  # (d,) Σ_j weights_j v_j

    @property
    def scale(self) -> float:
        return float(np.sqrt(self.head_size))

    @property
    def weight_sum(self) -> float:
        return float(self.weights.sum())

    @property
    def output_norm(self) -> float:
        return float(np.linalg.norm(self.output))

    def top_keys(self, count: int = 5) -> list[int]:
        """Key positions with the largest weights, largest first."""
        return [int(j) for j in np.argsort(-self.weights, kind="stable")[:count]]


def _check(trace: Trace, layer: int, head: int | None = None, query: int | None = None) -> None:
    if trace.attention is None or trace.queries is None:
        raise AttentionError("this trace has no attention (it is not a GPT's)")
    layers, heads, length, _ = trace.attention.shape
    if not 0 <= layer < layers:
        raise AttentionError(f"layer {layer} is out of range (the model has {layers})")
    if head is not None and not 0 <= head < heads:
        raise AttentionError(f"head {head} is out of range (each layer has {heads})")
    if query is not None and not 0 <= query < length:
        raise AttentionError(f"query {query} is out of range (the text has {length} tokens)")


def query_step(trace: Trace, layer: int, head: int, query: int) -> QueryStep:
    """Recompute one row of trace.attention from trace.queries/keys/values (float64)."""
    _check(trace, layer, head, query)
    q = trace.queries[layer, head, query].astype(np.float64)  # (d,)
    keys = trace.keys[layer, head, : query + 1].astype(np.float64)  # (query+1, d)
    values = trace.values[layer, head, : query + 1].astype(np.float64)
    head_size = q.shape[0]
    scores = keys @ q
    scaled = scores / np.sqrt(head_size)
    exp = np.exp(scaled - scaled.max())
    weights = exp / exp.sum()
    return QueryStep(layer, head, query, head_size, scores, scaled, weights, values, weights @ values)


def masked_attention(weights: np.ndarray) -> np.ndarray:
    """A (T, T) attention matrix with the causally masked cells (key after query) as NaN."""
    out = np.array(weights, dtype=np.float64)
    out[np.triu_indices(out.shape[0], k=1)] = np.nan
    return out


def induction_targets(ids: list[int], unknown_id: int | None = None) -> list[list[int]]:
    """For each position t, the positions j+1 (< t) right after an earlier occurrence j of ids[t]:
    where a prefix-matching ("induction") head would look. Not t itself (a doubled letter, the
    "ee" of "keeper": the token after the first e is this one), which a head that looks at its
    own token would have been credited for. The tokenizer's unknown id never counts as a
    repeat: two different unknown words share it without being the same token."""
    seen: dict[int, list[int]] = {}
    targets = []
    for t, token in enumerate(ids):
        if token == unknown_id:
            targets.append([])
            continue
        targets.append([j + 1 for j in seen.get(token, []) if j + 1 < t])
        seen.setdefault(token, []).append(t)
    return targets


def copy_distances(targets: list[list[int]], least: int = 3) -> list[int]:
    """How far back the copied spans lie, in tokens: the distances t − j from a token with one
    earlier occurrence to the token after it, that at least `least` tokens share (a copied span's
    stripe in an attention map, parallel to the diagonal), smallest first."""
    counts = Counter(t - found[0] for t, found in enumerate(targets) if len(found) == 1)
    return sorted(distance for distance, count in counts.items() if count >= least)


@dataclass(frozen=True)
class InductionScores:
    scores: np.ndarray  # (L, heads): mean attention a repeated token pays to its targets
    chance: float  # the same measure for uniform attention over the visible keys
    queries: int  # how many positions had a target (0: nothing repeats, scores are 0)

    @property
    def best(self) -> tuple[int, int]:
        """(layer, head) of the highest score: the likeliest copy head."""
        layer, head = np.unravel_index(int(np.argmax(self.scores)), self.scores.shape)
        return int(layer), int(head)


def induction_scores(trace: Trace, unknown_id: int | None = None) -> InductionScores:
    """Per head, the mean total attention from each repeated token to the token(s) that followed
    its earlier occurrence(s), beside what uniform attention would give. Pass the tokenizer's
    unknown id so that `<unk>` does not count as a repeated token."""
    _check(trace, 0)
    targets = induction_targets(trace.ids, unknown_id)
    rows = [(t, js) for t, js in enumerate(targets) if js]
    layers, heads = trace.attention.shape[:2]
    if not rows:
        return InductionScores(np.zeros((layers, heads)), 0.0, 0)
    per_query = np.stack([trace.attention[:, :, t, js].sum(axis=-1) for t, js in rows])
    chance = float(np.mean([len(js) / (t + 1) for t, js in rows]))
    return InductionScores(per_query.mean(axis=0).astype(np.float64), chance, len(rows))


def clearest_copy(trace: Trace, layer: int, head: int, unknown_id: int | None = None) -> int | None:
    """The repeated token whose row in this head pays its targets (the tokens after its earlier
    occurrences) the most attention: where the head's copying shows best. None: no repeats."""
    _check(trace, layer, head)
    rows = [(t, js) for t, js in enumerate(induction_targets(trace.ids, unknown_id)) if js]
    if not rows:
        return None
    paid = [trace.attention[layer, head, t, js].sum() for t, js in rows]
    return rows[int(np.argmax(paid))][0]


def previous_token_scores(trace: Trace) -> tuple[np.ndarray, float]:
    """Per head (L, heads), the mean attention each token after the first pays to the token right
    before it, and the same for uniform attention. A head far above it copies the previous token
    into each position: what a later layer's induction head matches on."""
    _check(trace, 0)
    length = trace.attention.shape[2]
    layers, heads = trace.attention.shape[:2]
    if length < 2:
        return np.zeros((layers, heads)), 0.0
    rows = np.arange(1, length)
    scores = trace.attention[:, :, rows, rows - 1].mean(axis=-1)  # (L, heads)
    return scores.astype(np.float64), float(np.mean(1.0 / (rows + 1)))
