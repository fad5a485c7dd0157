"""Where each model's past comes from: the recurrent memory split by the step that wrote it
(hand-computed and against nn.LSTM / nn.GRU), attention per layer, and the row measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmviz.figures.attention import figure_attention
from lmviz.figures.compare import figure_distance_back, figure_rows
from lmviz.figures.labels import short_labels
from lmviz.memory import (
    MemorySplitError,
    distance_back,
    head_weights,
    largest_lead,
    memory_sources,
    recent_share,
    repeated_positions,
    shared_color_top,
)
from lmviz.models import ModelConfig, Trace, build_model
from lmviz.run import Run

TEXT = "the keeper and the sea"


def test_a_hand_computed_lstm_memory() -> None:
    """c_0 = 1·1 = 1; c_1 = 0.5·1 + 1·(−1) = −0.5: at step 1 step 0's write has faded to 0.5 and
    step 1 wrote −1, so of 1.5 in all, 1/3 and 2/3."""
    layer = {"input_gate": np.array([[1.0], [1.0]]), "forget_gate": np.array([[0.9], [0.5]]),
             "candidate": np.array([[1.0], [-1.0]]), "cell_state": np.array([[1.0], [-0.5]])}
    sources = memory_sources(layer, "lstm")
    np.testing.assert_allclose(sources.shares, [[1.0, 0.0], [1 / 3, 2 / 3]])
    np.testing.assert_allclose(sources.rebuilt, layer["cell_state"])
    assert sources.max_error == pytest.approx(0.0)


def test_a_hand_computed_gru_memory() -> None:
    """h_t = (1 − z_t) n_t + z_t h_{t−1}: h_0 = 0.5·0.4 = 0.2; h_1 = 0.2·(−1) + 0.8·0.2 = −0.04."""
    layer = {"update_gate": np.array([[0.5], [0.8]]), "candidate": np.array([[0.4], [-1.0]]),
             "reset_gate": np.array([[0.3], [0.3]]), "hidden_state": np.array([[0.2], [-0.04]])}
    sources = memory_sources(layer, "gru")
    np.testing.assert_allclose(sources.rebuilt, layer["hidden_state"])
    np.testing.assert_allclose(sources.shares[1], [0.16 / 0.36, 0.2 / 0.36])


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_the_split_adds_up_to_the_torch_cells_own_memory(family: str) -> None:
    """Every step's faded write, summed, is the memory nn.LSTM / nn.GRU computed (two layers:
    the second reads the first's hidden states)."""
    torch.manual_seed(3)
    model = build_model(ModelConfig(family=family, vocab_size=30, embed_size=8, hidden_size=12, layers=2))
    ids = torch.randint(0, 30, (17,))
    trace = model.trace(ids.tolist())
    with torch.no_grad():
        _, state = model.rnn(model.embedding(ids)[None])
    final = state[1] if family == "lstm" else state  # (layers, 1, H): c_n or h_n
    for layer in range(2):
        sources = memory_sources(trace.layers[layer], family)
        np.testing.assert_allclose(sources.rebuilt[-1], final[layer, 0].numpy(), atol=1e-5)
        assert sources.max_error < 1e-5
        np.testing.assert_allclose(sources.shares.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(sources.shares >= 0)
        assert np.all(np.triu(sources.shares, k=1) == 0)  # no step is written by a later one
        assert sources.shares[0, 0] == 1.0


def test_a_run_s_trace_splits_exactly(lstm_run: Run) -> None:
    trace = lstm_run.model.trace(lstm_run.tokenizer.encode(TEXT[:16]).ids)
    sources = memory_sources(trace.layers[0], "lstm")
    assert sources.shares.shape == (16, 16) and sources.max_error < 1e-5


def test_what_cannot_be_split_says_why() -> None:
    with pytest.raises(MemorySplitError, match="RNN"):
        memory_sources({"hidden_state": np.zeros((3, 2))}, "rnn")
    with pytest.raises(MemorySplitError, match="forget_gate"):
        memory_sources({"update_gate": np.zeros((3, 2)), "hidden_state": np.zeros((3, 2))}, "lstm")


def test_head_weights_one_head_or_their_mean(gpt_run: Run) -> None:
    trace = gpt_run.model.trace(gpt_run.tokenizer.encode(TEXT[:16]).ids)
    mean = head_weights(trace, 1)
    np.testing.assert_allclose(mean, trace.attention[1].mean(axis=0), atol=1e-7)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.triu(mean, k=1) == 0)  # the mean keeps the causal mask
    np.testing.assert_array_equal(head_weights(trace, 0, 1), trace.attention[0, 1])
    for layer, head in ((2, None), (0, 2), (-1, 0)):
        with pytest.raises(MemorySplitError, match="out of range"):
            head_weights(trace, layer, head)
    recurrent = build_model(ModelConfig(family="lstm", vocab_size=5, embed_size=4, hidden_size=4)).trace([1, 2])
    with pytest.raises(MemorySplitError, match="no attention"):
        head_weights(recurrent, 0)


def test_distance_back_and_recent_share() -> None:
    length = 5
    itself = np.eye(length)
    first = np.zeros((length, length))
    first[:, 0] = 1.0
    np.testing.assert_allclose(distance_back(itself), 0.0)
    np.testing.assert_allclose(distance_back(first), np.arange(length))  # row t sits t tokens back
    halves = np.tril(np.ones((length, length)))
    halves /= halves.sum(axis=1, keepdims=True)  # uniform over the tokens so far
    np.testing.assert_allclose(distance_back(halves), np.arange(length) / 2)
    np.testing.assert_allclose(recent_share(itself, 1), 1.0)
    np.testing.assert_allclose(recent_share(first, 3), [1, 1, 1, 0, 0])
    np.testing.assert_allclose(recent_share(halves, 2), [1, 1, 2 / 3, 2 / 4, 2 / 5])
    with pytest.raises(ValueError, match="at least 1"):
        recent_share(itself, 0)


def test_shared_color_top_skips_the_first_rows() -> None:
    early = np.tril(np.full((6, 6), 0.1))
    early[0, 0] = 1.0
    late = np.tril(np.full((6, 6), 0.05))
    late[5, 2] = 0.4
    assert shared_color_top(early, late) == pytest.approx(0.4)
    assert shared_color_top(np.eye(2)) == 1.0  # too short to skip anything
    assert shared_color_top(np.zeros((5, 5))) == 1.0


def test_comparison_figures() -> None:
    labels = short_labels(list("abcd"))
    halves = np.tril(np.ones((4, 4)))
    halves /= halves.sum(axis=1, keepdims=True)
    rows = figure_rows({"LSTM": halves[2], "GPT": np.eye(4)[2]}, labels, 2)
    assert [t.name for t in rows.data] == ["LSTM", "GPT"]
    assert list(rows.data[0].x) == [0, 1, 2] and rows.data[1].y.tolist() == [0, 0, 1]
    lines = figure_distance_back({"LSTM": distance_back(halves), "GPT": distance_back(np.eye(4))}, labels, 1)
    assert [len(t.x) for t in lines.data] == [4, 4] and lines.layout.shapes[0].x0 == 1
    memory_map = figure_attention(halves, labels, "memory", 3, axes=("written at step", "cell state at step"),
                                  value="share", hover="memory at %{y} ← written at %{x}", zmax=0.5)
    assert memory_map.layout.xaxis.title.text == "written at step" and memory_map.data[0].zmax == 0.5
    assert memory_map.data[0].colorbar.title.text == "share"
    assert memory_map.data[0].hovertemplate.startswith("memory at %{y} ← written at %{x}: %{z:.3f}")


def test_repeated_positions_skip_unknown_tokens() -> None:
    assert repeated_positions([5, 6, 5, 7, 6, 6]) == [2, 4, 5]
    assert repeated_positions([0, 3, 0, 3], unknown_id=0) == [3]  # two <unk> are no repeat
    assert repeated_positions([]) == []


def test_largest_lead_finds_where_one_model_predicts_the_text_and_the_other_does_not() -> None:
    def trace(probabilities: list[list[float]]) -> Trace:
        logits = np.log(np.asarray(probabilities))
        return Trace(ids=[0, 1, 2], logits=logits, embeddings=np.zeros((3, 2)), inputs=np.zeros((3, 2)), layers=[])

    # rows: after token 0 the text goes on with 1, after token 1 with 2 (the last row is unused)
    behind = trace([[0.4, 0.5, 0.1], [0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    ahead = trace([[0.3, 0.6, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
    assert largest_lead(behind, ahead) == 1  # 0.8 − 0.1 after token 1, against 0.6 − 0.5 after 0
    assert largest_lead(ahead, behind) == 0
    one = Trace(ids=[0], logits=np.zeros((1, 3)), embeddings=np.zeros((3, 2)), inputs=np.zeros((1, 2)), layers=[])
    assert largest_lead(one, one) is None
