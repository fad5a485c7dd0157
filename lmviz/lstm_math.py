"""One recurrent step for one unit, recomputed from the run's weights: the numbers behind the
gate equations (LSTM, GRU, vanilla RNN), as PyTorch defines them.

`trace()` gives each gate's value; this module splits a gate into its input part
(W_i· x_t + b_i·) and its recurrent part (W_h· h_{t-1} + b_h·) so a page can show the equation
with this input's numbers. Pure numpy/torch, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmviz.models import GATE_NAMES, RecurrentLM, Trace

# Row blocks of weight_ih / weight_hh, in PyTorch's order.
GATE_ORDER: dict[str, tuple[str, ...]] = {
    "lstm": ("input_gate", "forget_gate", "candidate", "output_gate"),
    "gru": ("reset_gate", "update_gate", "candidate"),
    "rnn": ("hidden_state",),
}
SIGMOID_GATES = frozenset({"input_gate", "forget_gate", "output_gate", "reset_gate", "update_gate"})


class StepError(ValueError):
    """A layer, unit or timestep out of range; the message is for the user."""


@dataclass(frozen=True)
class GateNumbers:
    """gate = act(input_part + hidden_part) for one unit at one step (GRU candidate: see below)."""

    name: str
    input_part: float  # W_i x_t + b_i
    hidden_part: float  # W_h h_{t-1} + b_h  (GRU candidate: r_t * (W_hn h_{t-1} + b_hn))
    pre_activation: float  # input_part + hidden_part
    value: float  # sigmoid or tanh of the pre-activation

    @property
    def activation(self) -> str:
        return "sigmoid" if self.name in SIGMOID_GATES else "tanh"


@dataclass(frozen=True)
class RecurrentStep:
    family: str
    layer: int
    unit: int
    t: int
    gates: dict[str, GateNumbers]  # by GATE_ORDER name
    h_prev: float
    h: float
    c_prev: float | None = None  # lstm only
    c: float | None = None
    gru_hidden_raw: float | None = None  # gru: W_hn h_{t-1} + b_hn, before the reset gate


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def layer_inputs(trace: Trace, layer: int) -> np.ndarray:
    """What a layer reads at each step, (T, in): the embeddings, or the previous layer's hidden state."""
    return trace.inputs if layer == 0 else trace.layers[layer - 1]["hidden_state"]


def recurrent_step(model: RecurrentLM, trace: Trace, layer: int, unit: int, t: int) -> RecurrentStep:
    """The numbers of every gate of `unit` at timestep `t` of `layer`, from the model's weights.

    `trace` must be this model's trace; its values give x_t, h_{t-1} and c_{t-1}.
    """
    family = model.config.family
    if family not in GATE_ORDER:
        raise StepError(f"{family} is not a recurrent model")
    if not 0 <= layer < len(trace.layers):
        raise StepError(f"layer {layer} is out of range (the model has {len(trace.layers)})")
    hidden = trace.layers[layer]["hidden_state"]
    length, size = hidden.shape
    if not 0 <= unit < size:
        raise StepError(f"unit {unit} is out of range (the layer has {size} units)")
    if not 0 <= t < length:
        raise StepError(f"timestep {t} is out of range (the text has {length} tokens)")

    def weights(name: str) -> np.ndarray:
        return getattr(model.rnn, f"{name}_l{layer}").detach().cpu().double().numpy()

    w_ih, w_hh, b_ih, b_hh = (weights(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    x = layer_inputs(trace, layer)[t].astype(np.float64)
    h_prev_vec = hidden[t - 1].astype(np.float64) if t > 0 else np.zeros(size)
    rows = [k * size + unit for k in range(len(GATE_ORDER[family]))]
    from_input = [float(w_ih[r] @ x + b_ih[r]) for r in rows]
    from_hidden = [float(w_hh[r] @ h_prev_vec + b_hh[r]) for r in rows]
    h_prev = float(h_prev_vec[unit])

    gates: dict[str, GateNumbers] = {}
    gru_hidden_raw = None
    for k, name in enumerate(GATE_ORDER[family]):
        hidden_part = from_hidden[k]
        if family == "gru" and name == "candidate":  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
            gru_hidden_raw = hidden_part
            hidden_part = gates["reset_gate"].value * hidden_part
        pre = from_input[k] + hidden_part
        value = _sigmoid(pre) if name in SIGMOID_GATES else float(np.tanh(pre))
        gates[name] = GateNumbers(name, from_input[k], hidden_part, pre, value)

    if family == "lstm":
        c_prev = float(trace.layers[layer]["cell_state"][t - 1, unit]) if t > 0 else 0.0
        i, f, g, o = (gates[n].value for n in GATE_ORDER["lstm"])
        c = f * c_prev + i * g
        return RecurrentStep(family, layer, unit, t, gates, h_prev, o * float(np.tanh(c)), c_prev, c)
    if family == "gru":
        z, n = gates["update_gate"].value, gates["candidate"].value
        return RecurrentStep(family, layer, unit, t, gates, h_prev, (1 - z) * n + z * h_prev,
                             gru_hidden_raw=gru_hidden_raw)
    return RecurrentStep(family, layer, unit, t, gates, h_prev, gates["hidden_state"].value)


def step_values(step: RecurrentStep) -> dict[str, float]:
    """The step's values under the trace's names (GATE_NAMES), to compare with the trace."""
    values = {name: g.value for name, g in step.gates.items()}
    values["hidden_state"] = step.h
    if step.c is not None:
        values["cell_state"] = step.c
    return {name: values[name] for name in GATE_NAMES[step.family]}


def most_varying_unit(values: np.ndarray) -> int:
    """The unit (column of (T, H)) whose value changes most along the text: a lively default."""
    if values.size == 0:
        return 0
    return int(np.argmax(values.std(axis=0)))
