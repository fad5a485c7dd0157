"""trace_text, the trace JSON contract, and the measures units are correlated with."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from lmviz.models import GATE_NAMES
from lmviz.probes import (
    MAX_TRACE_CHARS,
    MEASURES,
    ProbeError,
    bracket_depth,
    correlated_units,
    position_in_word,
    trace_text,
)
from lmviz.run import Run
from lmviz.tokenizers import Encoding

TEXT = "The keeper climbed the stairs."


def char_offsets(text: str) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(len(text))]


def test_lstm_trace_text(lstm_run: Run) -> None:
    result = trace_text(lstm_run, TEXT)
    assert result.truncated is False and result.text == TEXT
    assert result.tokens == list(TEXT)
    assert result.trace.ids == lstm_run.tokenizer.encode(TEXT).ids
    assert result.trace.logits.shape == (len(TEXT), lstm_run.tokenizer.vocab_size)


def test_lstm_json_contract(lstm_run: Run) -> None:
    data = json.loads(json.dumps(trace_text(lstm_run, TEXT).to_json(), allow_nan=False))
    assert {"ids", "tokens", "layers"} <= set(data)
    assert "attention" not in data
    assert data["tokens"] == list(TEXT) and len(data["ids"]) == len(TEXT)
    assert len(data["layers"]) == 1
    layer = data["layers"][0]
    assert set(layer) == {"input_gate", "forget_gate", "candidate", "output_gate", "cell_state",
                          "hidden_state"} == set(GATE_NAMES["lstm"])
    for values in layer.values():
        assert len(values) == len(TEXT)
        assert all(len(row) == 16 and all(isinstance(v, float) for v in row) for row in values)


def test_gpt_json_contract(gpt_run: Run) -> None:
    text = "the sea"
    data = trace_text(gpt_run, text).to_json()
    assert {"ids", "tokens", "attention"} <= set(data)
    assert "layers" not in data
    attention = np.array(data["attention"])
    assert attention.shape == (2, 2, len(text), len(text))  # [L][heads][T][T]
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)


def test_gpt_long_text_keeps_the_end(gpt_run: Run) -> None:
    text = "The keeper climbed the stairs of the old lighthouse."  # > 16 tokens
    result = trace_text(gpt_run, text)
    assert result.truncated is True
    assert result.text == text[-16:]
    assert result.tokens == list(text[-16:])
    assert len(result.trace.ids) == 16
    assert result.trace.attention is not None and result.trace.attention.shape[-1] == 16
    exact = trace_text(gpt_run, text[-16:])
    assert exact.truncated is False
    np.testing.assert_allclose(exact.trace.logits, result.trace.logits, atol=1e-6)


def test_recurrent_long_text_is_not_truncated(lstm_run: Run) -> None:
    text = "x = (1, 2) " * 40
    result = trace_text(lstm_run, text)
    assert result.truncated is False and len(result.trace.ids) == len(text)


def test_bad_texts_raise_probe_error(lstm_run: Run) -> None:
    with pytest.raises(ProbeError, match="empty"):
        trace_text(lstm_run, "")
    with pytest.raises(ProbeError, match="at most"):
        trace_text(lstm_run, "a" * (MAX_TRACE_CHARS + 1))


def test_diverged_run_raises_probe_error(lstm_run: Run) -> None:
    diverged = replace(lstm_run, outcome="diverged")
    with pytest.raises(ProbeError, match="diverged"):
        trace_text(diverged, TEXT)


def test_bracket_depth_by_hand() -> None:
    text = "a(b[c]d)e"
    assert bracket_depth(text, char_offsets(text)).tolist() == [0, 1, 1, 2, 2, 1, 1, 0, 0]
    assert bracket_depth(text, [(0, 2), (2, 6), (6, 9)]).tolist() == [1, 1, 0]
    assert bracket_depth(")(", char_offsets(")(")).tolist() == [0, 1]  # never negative
    assert bracket_depth("{[(", char_offsets("{[(")).tolist() == [1, 2, 3]


def test_position_in_word_by_hand() -> None:
    text = "ab cd.e"
    assert position_in_word(text, char_offsets(text)).tolist() == [1, 2, 0, 1, 2, 0, 1]
    assert position_in_word(text, [(0, 2), (2, 5), (5, 7)]).tolist() == [2, 2, 1]
    assert set(MEASURES) == {"bracket depth", "position in word"}


def test_correlated_units_finds_planted_columns() -> None:
    rng = np.random.default_rng(0)
    measure = rng.normal(size=60)
    values = rng.normal(size=(60, 8))
    values[:, 5] = 3.0 * measure + 0.05 * rng.normal(size=60)
    values[:, 2] = -measure + 0.2 * rng.normal(size=60)
    found = correlated_units(values, measure, top=3)
    assert len(found) == 3
    assert found[0][0] == 5 and found[0][1] > 0.99
    assert found[1][0] == 2 and found[1][1] < -0.9
    assert abs(found[2][1]) < 0.6
    assert correlated_units(values, np.ones(60)) == []  # a constant measure says nothing
    assert correlated_units(values[:2], measure[:2]) == []  # too few tokens


def test_a_cut_that_re_encodes_longer_keeps_its_unknown_tokens(gpt_run: Run) -> None:
    """BPE may split the text after the cut into more tokens than the context (a merge across
    the cut): the trimmed encoding lost its <unk> positions, and its text kept the trimmed
    characters, so the page's note on unknown tokens and the Compare page's split went wrong."""
    chars = gpt_run.tokenizer

    class Longer:  # the cut text comes back two tokens longer, as BPE can make it
        unk_id = chars.unk_id

        def encode(self, text: str) -> Encoding:
            found = chars.encode(text)
            if len(found.ids) != 16:
                return found
            return Encoding([found.ids[0]] * 2 + found.ids, [found.pieces[0]] * 2 + found.pieces,
                            [(0, 1), (0, 1), *found.offsets], [i + 2 for i in found.unknown])

    text = "The keeper climbed the stairs of the €ld lighthouse."  # € is no character of story
    result = trace_text(replace(gpt_run, tokenizer=Longer()), text)
    assert len(result.trace.ids) == 16 and result.text == text[-16:]
    unknown = [result.text[a:b] for a, b in (result.encoding.offsets[i] for i in result.encoding.unknown)]
    assert unknown == ["€"] and result.encoding.offsets[0] == (0, 1)
