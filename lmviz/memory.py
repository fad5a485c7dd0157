"""Where each model's picture of the past comes from, as one (T, T) matrix per model.

A GPT looks back directly: row t of a head's attention says how much token t takes from each
earlier token. An LSTM cannot look back; all it knows of the past is its cell state, and that
state is a sum. From c = 0 and c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,

    c_t = Σ_{j ≤ t} (f_{j+1} ⊙ … ⊙ f_t) ⊙ (i_j ⊙ g_j),

what step j wrote, faded by every forget gate since. A GRU's hidden state is the same kind of sum
(PyTorch's h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}: keep z, write (1 − z) ⊙ n). So the share of the
memory at t that step j wrote is exact, and sits beside an attention row: both are rows that add
up to 1 over the tokens so far. A vanilla RNN rewrites its state through tanh: no such split.
Pure numpy, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lmviz.attention_math import induction_targets
from lmviz.models import Trace

SPLITTABLE = ("lstm", "gru")  # families whose memory is a sum of what each step wrote
MEMORY_NAME = {"lstm": "cell_state", "gru": "hidden_state"}
# what each family knows of the past, in words (after "all it knows of the past is")
STATE_WORDS = {"lstm": "its state: the cell state c, which every step fades (forget gate f) and adds "
                       "to (input gate i × candidate g), and the hidden state h = o × tanh(c) it shows.",
               "gru": "its hidden state, which every step keeps a part of (update gate z) and adds "
                      "to ((1 − z) × candidate n)."}


class MemorySplitError(ValueError):
    """A family whose memory is not a sum of per-step writes, or a layer without its gates."""


@dataclass(frozen=True)
class MemorySources:
    family: str
    shares: np.ndarray  # (T, T) [t, j]: the part of the memory at t that step j wrote; rows sum to 1
    memory: np.ndarray  # (T, H) the memory as the trace computed it (cell state / hidden state)
    rebuilt: np.ndarray  # (T, H) the sum of every step's faded write: equals `memory`

    @property
    def max_error(self) -> float:
        """Largest difference between the rebuilt memory and the model's own (float32 trace)."""
        return float(np.abs(self.rebuilt - self.memory).max())


def _keep_and_write(layer: Mapping[str, np.ndarray], family: str) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the factor the old memory is multiplied by, and what is added to it; (T, H)."""
    if family not in SPLITTABLE:
        raise MemorySplitError(f"a {family.upper()}'s memory is not a sum of what each step wrote "
                               f"(only {' and '.join(f.upper() for f in SPLITTABLE)})")
    try:
        if family == "lstm":
            keep = layer["forget_gate"]
            write = layer["input_gate"].astype(np.float64) * layer["candidate"]
        else:
            keep = layer["update_gate"]
            write = (1.0 - layer["update_gate"].astype(np.float64)) * layer["candidate"]
    except KeyError as missing:
        raise MemorySplitError(f"this layer has no {missing.args[0]}: is it a {family.upper()}'s?") from None
    return keep.astype(np.float64), write


def memory_sources(layer: Mapping[str, np.ndarray], family: str) -> MemorySources:
    """Split one recurrent layer's memory at every step into what each earlier step wrote.

    Shares are L1: of all the (absolute) amounts still in the memory's units at t, the part step
    j put there. O(T² H) time, O(T H) memory (the (T, T, H) pieces are never kept)."""
    keep, write = _keep_and_write(layer, family)
    length, width = write.shape
    amounts = np.zeros((length, length))
    rebuilt = np.zeros((length, width))
    for j in range(length):
        # fading[t - j] = f_{j+1} ⊙ … ⊙ f_t for t = j..T-1 (1 at t = j)
        fading = np.cumprod(np.vstack([np.ones((1, width)), keep[j + 1:]]), axis=0)
        piece = fading * write[j]  # (T - j, H): step j's write as it stands at each later step
        amounts[j:, j] = np.abs(piece).sum(axis=1)
        rebuilt[j:] += piece
    totals = amounts.sum(axis=1, keepdims=True)
    shares = np.divide(amounts, totals, out=np.zeros_like(amounts), where=totals > 0)
    return MemorySources(family, shares, layer[MEMORY_NAME[family]].astype(np.float64), rebuilt)


def head_weights(trace: Trace, layer: int, head: int | None = None) -> np.ndarray:
    """A layer's attention, (T, T): one head's, or the mean of its heads (head None); rows sum to 1."""
    if trace.attention is None:
        raise MemorySplitError("this trace has no attention (it is not a GPT's)")
    layers, heads = trace.attention.shape[:2]
    if not 0 <= layer < layers or (head is not None and not 0 <= head < heads):
        raise MemorySplitError(f"layer {layer}, head {head} is out of range ({layers} layers × {heads} heads)")
    weights = trace.attention[layer]
    return (weights.mean(axis=0) if head is None else weights[head]).astype(np.float64)


def shared_color_top(*matrices: np.ndarray, skip: int = 3) -> float:
    """One top for the color scale of several causal matrices: their largest value from row
    `skip` on. The first rows have only a token or two to share among (row 0 is always [1]), so
    they would set the scale and leave every later row dark; they saturate instead."""
    later = [m[skip:] for m in matrices if m.shape[0] > skip]
    top = max((float(m.max()) for m in later), default=1.0)
    return top if top > 0 else 1.0


def repeated_positions(ids: list[int], unknown_id: int | None = None) -> list[int]:
    """Positions whose token occurred earlier (a copy head's work), never counting <unk>."""
    return [t for t, targets in enumerate(induction_targets(ids, unknown_id)) if targets]


def distance_back(weights: np.ndarray) -> np.ndarray:
    """(T,): for each row t of a (T, T) causal matrix whose rows add to 1, how many tokens back
    its weight sits on average: Σ_j w[t, j] · (t − j). 0 = all on the token itself."""
    length = weights.shape[0]
    positions = np.arange(length)
    return (weights * (positions[:, None] - positions[None, :])).sum(axis=1)


def recent_share(weights: np.ndarray, window: int) -> np.ndarray:
    """(T,): the part of each row on its last `window` tokens (the token itself and window − 1 before)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    positions = np.arange(weights.shape[0])
    back = positions[:, None] - positions[None, :]
    return np.where((back >= 0) & (back < window), weights, 0.0).sum(axis=1)


def largest_lead(behind: Trace, ahead: Trace) -> int | None:
    """The token after which `ahead` gives the text's own next token the most probability more
    than `behind` does (both traced on the same tokens): where what one model remembers and the
    other does not shows. None for a text of one token."""
    ids = np.asarray(ahead.ids)
    if len(ids) < 2:
        return None
    rows, following = np.arange(len(ids) - 1), ids[1:]
    lead = ahead.probabilities()[rows, following] - behind.probabilities()[rows, following]
    return int(np.argmax(lead))
