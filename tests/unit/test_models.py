"""`trace()` against the fused PyTorch modules, and ModelConfig validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lmviz.models import (
    GATE_NAMES,
    GPT,
    ModelConfig,
    ModelConfigError,
    RecurrentLM,
    build_model,
    count_parameters,
    max_trace_length,
)

VOCAB, EMBED, HIDDEN, LENGTH = 11, 6, 8, 9
ATOL = 1e-5


def recurrent(family: str, layers: int, seed: int = 0) -> RecurrentLM:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(family=family, vocab_size=VOCAB, embed_size=EMBED,
                                    hidden_size=HIDDEN, layers=layers))
    assert isinstance(model, RecurrentLM)
    return model.eval()


def token_ids(length: int = LENGTH, seed: int = 1) -> list[int]:
    return torch.randint(0, VOCAB, (length,), generator=torch.Generator().manual_seed(seed)).tolist()


def reference_rnn(model: RecurrentLM, layers: int) -> nn.Module:
    """The model's own fused module, cut down to its first `layers` layers."""
    cell = type(model.rnn)
    reference = cell(EMBED, HIDDEN, num_layers=layers, batch_first=True)
    state = {name: value for name, value in model.rnn.state_dict().items()
             if int(name.rsplit("_l", 1)[1]) < layers}
    reference.load_state_dict(state)
    return reference.eval()


def close(actual: np.ndarray, expected: torch.Tensor) -> None:
    np.testing.assert_allclose(actual, expected.detach().numpy(), atol=ATOL, rtol=0)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_recurrent_trace_matches_fused_module(family: str, layers: int) -> None:
    model = recurrent(family, layers)
    ids = token_ids()
    trace = model.trace(ids)
    x = model.embedding(torch.tensor([ids]))  # (1, T, E)
    with torch.no_grad():
        out, state = model.rnn(x)
        logits = model(torch.tensor([ids]))[0]
    assert len(trace.layers) == layers
    for layer in trace.layers:
        assert tuple(layer) == GATE_NAMES[family]
        assert all(v.shape == (LENGTH, HIDDEN) and v.dtype == np.float32 for v in layer.values())
    close(trace.layers[-1]["hidden_state"], out[0])
    h_n = state[0] if family == "lstm" else state
    for index, layer in enumerate(trace.layers):
        close(layer["hidden_state"][-1], h_n[index, 0])
        if family == "lstm":
            close(layer["cell_state"][-1], state[1][index, 0])
        with torch.no_grad():
            layer_out, _ = reference_rnn(model, index + 1)(x)
        close(layer["hidden_state"], layer_out[0])
    close(trace.logits, logits)
    close(trace.inputs, x[0])
    close(trace.embeddings, model.embedding.weight)
    assert trace.ids == ids


def test_lstm_cell_state_at_every_step_matches_nn_lstm() -> None:
    model = recurrent("lstm", 2, seed=4)
    ids = token_ids(seed=5)
    trace = model.trace(ids)
    x = model.embedding(torch.tensor([ids]))
    for t in range(1, LENGTH + 1):
        with torch.no_grad():
            _, (h_n, c_n) = model.rnn(x[:, :t])
        for layer in range(2):
            close(trace.layers[layer]["cell_state"][t - 1], c_n[layer, 0])
            close(trace.layers[layer]["hidden_state"][t - 1], h_n[layer, 0])


def test_lstm_gates_ranges_and_equations() -> None:
    model = recurrent("lstm", 1, seed=2)
    with torch.no_grad():  # larger weights push the gates towards their limits
        for param in model.parameters():
            param.mul_(4.0)
    layer = model.trace(token_ids(seed=3)).layers[0]
    for name in ("input_gate", "forget_gate", "output_gate"):
        assert layer[name].min() >= 0.0 and layer[name].max() <= 1.0
    assert layer["candidate"].min() >= -1.0 and layer["candidate"].max() <= 1.0
    assert layer["forget_gate"].max() > 0.9 and layer["candidate"].min() < -0.9  # not all mid-range
    previous = np.vstack([np.zeros((1, HIDDEN)), layer["cell_state"][:-1]])
    np.testing.assert_allclose(
        layer["cell_state"],
        layer["forget_gate"] * previous + layer["input_gate"] * layer["candidate"], atol=ATOL)
    np.testing.assert_allclose(
        layer["hidden_state"], layer["output_gate"] * np.tanh(layer["cell_state"]), atol=ATOL)


def test_gru_gates_ranges_and_update_equation() -> None:
    layer = recurrent("gru", 1, seed=6).trace(token_ids(seed=7)).layers[0]
    for name in ("reset_gate", "update_gate"):
        assert layer[name].min() >= 0.0 and layer[name].max() <= 1.0
    assert np.abs(layer["candidate"]).max() <= 1.0
    previous = np.vstack([np.zeros((1, HIDDEN)), layer["hidden_state"][:-1]])
    z = layer["update_gate"]
    np.testing.assert_allclose(layer["hidden_state"], (1 - z) * layer["candidate"] + z * previous,
                               atol=ATOL)


@pytest.fixture(scope="module")
def gpt() -> GPT:
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="gpt", vocab_size=VOCAB, hidden_size=16, heads=4,
                                    layers=2, context=12))
    with torch.no_grad():  # the 0.02 init gives near-uniform attention; make it sharp
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.5)
    assert isinstance(model, GPT)
    return model.eval()


def test_gpt_attention_is_causal_and_normalised(gpt: GPT) -> None:
    trace = gpt.trace(token_ids(10))
    attention = trace.attention
    assert attention is not None
    assert attention.shape == (2, 4, 10, 10)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)
    upper = np.triu(np.ones((10, 10), dtype=bool), k=1)
    assert (attention[..., upper] == 0.0).all()
    assert attention.min() >= 0.0
    assert attention[..., ~upper].max() > 0.5  # sharp enough to mean something


def test_gpt_trace_matches_fused_forward(gpt: GPT) -> None:
    ids = token_ids(12)  # the full context
    trace = gpt.trace(ids)
    with torch.no_grad():
        logits = gpt(torch.tensor([ids]))[0]
    close(trace.logits, logits)
    assert np.abs(trace.logits - logits.numpy()).max() <= 1e-5


def test_gpt_trace_shapes_and_identities(gpt: GPT) -> None:
    ids = token_ids(7)
    trace = gpt.trace(ids)
    for array in (trace.queries, trace.keys, trace.values):
        assert array is not None and array.shape == (2, 4, 7, 4)  # (L, heads, T, head size)
    assert trace.positional is not None and trace.positional.shape == (12, 16)
    close(trace.positional, gpt.position.weight)
    assert trace.logits.shape == (7, VOCAB)
    assert trace.embeddings.shape == (VOCAB, 16)
    expected_inputs = gpt.embedding.weight[ids] + gpt.position.weight[:7]
    close(trace.inputs, expected_inputs)
    # the attention weights are softmax(q k^T / sqrt(d)) under the causal mask
    q, k = torch.from_numpy(trace.queries), torch.from_numpy(trace.keys)
    scores = q @ k.transpose(-2, -1) / math.sqrt(4)
    mask = torch.ones(7, 7, dtype=torch.bool).tril()
    expected = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    close(trace.attention, expected)
    np.testing.assert_allclose(trace.probabilities().sum(axis=-1), 1.0, atol=1e-6)


def test_gpt_ties_input_and_output_embeddings(gpt: GPT) -> None:
    assert gpt.head.weight is gpt.embedding.weight
    assert max_trace_length(gpt.config) == 12


def test_recurrent_models_have_no_trace_limit() -> None:
    assert max_trace_length(ModelConfig(family="lstm")) is None
    model = recurrent("rnn", 1)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    embed, hidden = EMBED * VOCAB, HIDDEN * (EMBED + HIDDEN + 2) + (HIDDEN + 1) * VOCAB
    assert count_parameters(model) == embed + hidden


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"family": "gpt", "hidden_size": 30, "heads": 4}, "divisible"),
        ({"family": "gpt", "heads": 0}, "divisible"),
        ({"family": "cnn"}, "model must be"),
        ({"vocab_size": 1}, "vocab"),
        ({"embed_size": 0}, "embed"),
        ({"hidden_size": 0}, "hidden"),
        ({"layers": 0}, "layers"),
        ({"layers": 13}, "layers"),
        ({"context": 0}, "context"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_model_config_rejects_bad_values(settings: dict, message: str) -> None:
    with pytest.raises(ModelConfigError, match=message):
        ModelConfig(**settings)


def test_heads_only_matter_for_gpt() -> None:
    assert ModelConfig(family="lstm", hidden_size=30, heads=4).to_dict()["hidden_size"] == 30


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_a_recurrent_cell_stays_fp32_under_autocast(family: str) -> None:
    """bf16 training: under autocast cuDNN would run the cell in fp16 (and recast its weights at
    every step); the cell runs in fp32 and only the output layer follows autocast."""
    model = build_model(ModelConfig(family=family, hidden_size=16, context=8))
    seen: list[torch.dtype] = []
    model.rnn.register_forward_hook(lambda module, inputs, output: seen.append(output[0].dtype))
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(ids)
    assert seen == [torch.float32] and logits.dtype == torch.bfloat16
    torch.testing.assert_close(logits.float(), model(ids), atol=0.05, rtol=0.05)
