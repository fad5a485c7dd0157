"""Saving and loading runs: safetensors + JSON, nothing pickled."""

from __future__ import annotations

import json
import math
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from lmviz.models import ModelConfig
from lmviz.run import Run, RunError, TrainConfig, load_run, save_run, weights_on
from lmviz.run_compare import unknown_note
from lmviz.tokenizers import MAX_CHARS, TokenizerConfig
from lmviz.training import train_run

FILES = {"model.safetensors", "config.json", "tokenizer.json", "history.json"}


def assert_same_run(original: Run, loaded: Run, text: str) -> None:
    left, right = original.model.state_dict(), loaded.model.state_dict()
    assert left.keys() == right.keys()
    for name in left:
        assert torch.equal(left[name], right[name]), name
    assert loaded.tokenizer.encode(text) == original.tokenizer.encode(text)
    assert loaded.tokenizer.vocab == original.tokenizer.vocab
    assert loaded.history == original.history
    assert loaded.summary() == original.summary()
    assert (loaded.key, loaded.corpus, loaded.outcome) == (original.key, original.corpus,
                                                           original.outcome)
    assert loaded.model_config == original.model_config
    assert loaded.train_config == original.train_config
    assert loaded.tokenizer_config == original.tokenizer_config
    ids = torch.tensor([original.tokenizer.encode(text).ids])
    with torch.no_grad():
        assert torch.equal(loaded.model(ids), original.model(ids))


def test_lstm_round_trip(lstm_run: Run, story: str, tmp_path: Path) -> None:
    folder = save_run(lstm_run, tmp_path / "run")
    assert {p.name for p in folder.iterdir()} == FILES
    assert not list(folder.glob("*.pt")) and not list(folder.glob("*.pkl"))
    loaded = load_run(folder)
    assert_same_run(lstm_run, loaded, story[:200])
    assert loaded.model.training is False
    assert not any(p.requires_grad for p in loaded.model.parameters())
    assert weights_on(loaded, torch.device("cpu")) is loaded.model


def test_loading_never_unpickles(lstm_run: Run, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = save_run(lstm_run, tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_run unpickled something")

    for module, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(module, name, refuse)
    assert load_run(folder).key == lstm_run.key


def test_safetensors_holds_state_dict_names(lstm_run: Run, tmp_path: Path) -> None:
    folder = save_run(lstm_run, tmp_path)
    state = lstm_run.model.state_dict()
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        names = set(f.keys())
        assert names == set(state)
        for name in names:
            assert torch.equal(f.get_tensor(name), state[name])
    assert {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "embedding.weight",
            "head.weight", "head.bias"} <= names


def test_json_files_are_plain_json(lstm_run: Run, tmp_path: Path) -> None:
    folder = save_run(lstm_run, tmp_path)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["model"]["family"] == "lstm" and config["key"] == lstm_run.key
    assert config["parameters"] == lstm_run.parameters
    history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    assert [e["step"] for e in history] == [e.step for e in lstm_run.history]


def test_gpt_with_tied_weights_round_trips(gpt_run: Run, story: str, tmp_path: Path) -> None:
    loaded = load_run(save_run(gpt_run, tmp_path))
    assert loaded.model.head.weight is loaded.model.embedding.weight
    assert_same_run(gpt_run, loaded, story[500:516])


def test_bpe_run_round_trips(story: str, tmp_path: Path) -> None:
    run = train_run(story, "story", TokenizerConfig("bpe", 200),
                    ModelConfig(family="gru", embed_size=8, hidden_size=8, context=8),
                    TrainConfig(steps=3, batch_size=4, sample_tokens=0, device="cpu"))
    assert_same_run(run, load_run(save_run(run, tmp_path)), story[:300])


def test_load_run_errors(lstm_run: Run, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a run folder"):
        load_run(tmp_path / "missing")
    a_file = tmp_path / "file.txt"
    a_file.write_text("hello", encoding="utf-8")
    with pytest.raises(RunError, match="not a run folder"):
        load_run(a_file)
    folder = save_run(lstm_run, tmp_path / "run")
    (folder / "history.json").unlink()
    with pytest.raises(RunError, match=r"missing history\.json"):
        load_run(folder)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("config.json", b"{not json"),
        ("config.json", b'{"key": "abc"}'),
        ("history.json", b"[1, 2"),
        ("tokenizer.json", b"\xff\xfe"),
        ("model.safetensors", b"not a safetensors file"),
    ],
    ids=["config-not-json", "config-incomplete", "history-not-json", "tokenizer-not-utf8",
         "weights-garbage"],
)
def test_corrupt_files_raise_run_error(lstm_run: Run, tmp_path: Path, name: str,
                                       content: bytes) -> None:
    folder = save_run(lstm_run, tmp_path / "run")
    (folder / name).write_bytes(content)
    with pytest.raises(RunError, match="cannot read run folder"):
        load_run(folder)


def test_weights_of_another_shape_raise_run_error(lstm_run: Run, gpt_run: Run,
                                                  tmp_path: Path) -> None:
    folder = save_run(lstm_run, tmp_path / "lstm")
    other = save_run(gpt_run, tmp_path / "gpt")
    shutil.copy(other / "model.safetensors", folder / "model.safetensors")
    with pytest.raises(RunError):
        load_run(folder)


def test_run_properties(lstm_run: Run) -> None:
    assert lstm_run.usable and lstm_run.outcome == "finished"
    assert lstm_run.final == lstm_run.history[-1]
    assert lstm_run.val_loss == lstm_run.history[-1].val_loss
    assert lstm_run.bits_per_char == pytest.approx(
        lstm_run.val_loss / math.log(2) / lstm_run.chars_per_token)
    summary = lstm_run.summary()
    assert summary["steps"] == 20 and summary["model"] == "lstm"
    assert summary["parameters"] == sum(p.numel() for p in lstm_run.model.parameters())


def test_unknown_characters_are_measured_and_kept(story: str, tmp_path: Path) -> None:
    """Word tokens on a small vocabulary turn rare words into <unk>: bits per character then
    leave out those characters, so the run records how many there were, and says so."""
    tiny = TrainConfig(steps=4, batch_size=4, eval_every=4, log_every=4, sample_tokens=0)
    model = ModelConfig(family="lstm", embed_size=8, hidden_size=8, context=16)
    words = train_run(story, "story", TokenizerConfig("word", 256), model, tiny)
    assert 0.2 < words.unknown_char_share < 0.4  # measured: 0.30 of story's validation text
    loaded = load_run(save_run(words, tmp_path / "w"))
    assert loaded.unknown_char_share == pytest.approx(words.unknown_char_share)
    assert words.sample_start == loaded.sample_start == "\n\n"  # what its samples started from
    note = unknown_note(words)
    assert note is not None and f"{words.unknown_char_share:.0%} of the validation text" in note
    chars = train_run(story, "story", TokenizerConfig("char"), model, tiny)
    assert chars.unknown_char_share == 0.0 and unknown_note(chars) is None


def test_a_char_run_of_a_text_with_too_many_characters_says_why_some_are_unknown(tmp_path: Path) -> None:
    rare = "".join(chr(0x4E00 + i) for i in range(MAX_CHARS + 2000))
    text = ("the cat sat on the mat. " * 200 + rare) * 2  # the validation split holds rare ones too
    tiny = TrainConfig(steps=2, batch_size=2, eval_every=2, log_every=2, sample_tokens=0)
    model = ModelConfig(family="lstm", embed_size=4, hidden_size=4, context=8)
    run = train_run(text, "mixed", TokenizerConfig("char"), model, tiny)
    assert run.tokenizer.vocab_size == MAX_CHARS and run.unknown_char_share > 0.01
    note = unknown_note(run)
    assert note is not None and f"keeps the {MAX_CHARS - 1:,} most frequent characters" in note


def test_a_run_loaded_twice_is_the_same_weights_instance() -> None:
    """Caches of traces and logits are keyed by the instance: a shipped run loaded again after
    its store evicted it keeps them; a run trained again does not."""
    from lmviz.jobs import SHIPPED_RUNS

    folder = next(SHIPPED_RUNS.iterdir())
    assert load_run(folder).instance == load_run(folder).instance
