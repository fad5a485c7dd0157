"""`python -m lmviz` end to end, in a subprocess: JSON out, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from lmviz.cli import main
from lmviz.run import DIVERGED, Run, load_run, save_run

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = {"model.safetensors", "config.json", "tokenizer.json", "history.json"}
LSTM_GATES = {"input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state"}
TINY = ["--steps", "20", "--hidden-size", "16", "--embed-size", "8", "--batch-size", "8",
        "--context", "16"]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lmviz", *args]


def run_all(commands: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Start every command at once (each pays torch's import), then collect them all."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny models; shared cores
    started = {name: subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
               for name, argv in commands.items()}
    done = {}
    for name, process in started.items():
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def ok_json_lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def ok_json(result: subprocess.CompletedProcess[str]) -> dict:
    lines = ok_json_lines(result)
    assert len(lines) == 1
    return lines[0]


SAMPLE = ("--prompt", "The ", "--temperature", "0.7", "--top-k", "5", "--max-new-tokens", "5",
          "--seed", "1", "--top-n", "3", "--json")
TRACE_TEXT = "the sea"
TOKENIZE_TEXT = "The keeper climbed the stairs."
BAD_ARGUMENTS = {
    "unknown-model": (("train", "--model", "cnn"), "cnn"),
    "unknown-corpus": (("train", "--corpus", "no-such-corpus"), "no-such-corpus"),
    "missing-run": (("trace", "/no/such/run/folder", "--text", "hi"), "not a run folder"),
    "negative-steps": (("train", "--steps", "-5"), "-5"),
    "unknown-precision": (("train", "--precision", "fp16"), "fp16"),
    "negative-seed": (("train", "--seed", "-1"), "from 0 to 4,294,967,295, got '-1'"),
    # argparse refuses it before the run folder is read: no endless generation
    "endless-sample": (("sample", "/no/such/run", "--max-new-tokens", "100000000"), "from 0 to 10,000"),
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every CLI call of this module, in two parallel waves: trainings (and calls that need no
    run), then the calls that read the trained runs."""
    base = tmp_path_factory.mktemp("cli")
    lstm, gpt = base / "lstm", base / "gpt"
    first = {
        "train-lstm": command("train", *TINY, "--out", str(lstm)),
        "train-gpt": command("train", *TINY, "--model", "gpt", "--heads", "2", "--steps", "10",
                             "--precision", "bf16", "--sample-tokens", "6", "--out", str(gpt)),
        "corpora": command("corpora"),
        "tokenize": command("tokenize", "--corpus", "story", "--tokenizer", "bpe",
                            "--vocab-size", "300", "--text", TOKENIZE_TEXT, "--json"),
        **{name: command(*args) for name, (args, _) in BAD_ARGUMENTS.items()},
    }
    results = run_all(first)
    second = {
        "trace-lstm": command("trace", str(lstm), "--text", TRACE_TEXT, "--json"),
        "trace-gpt": command("trace", str(gpt), "--text", TRACE_TEXT, "--json"),
        "sample-1": command("sample", str(lstm), *SAMPLE),
        "sample-2": command("sample", str(lstm), *SAMPLE),
        "greedy": command("sample", str(gpt), "--prompt", "The", "--temperature", "0",
                          "--max-new-tokens", "6", "--json"),
        "negative-temperature": command("sample", str(lstm), "--prompt", "a", "--temperature",
                                        "-1", "--json"),
    }
    results.update(run_all(second))
    return {"lstm": lstm, "gpt": gpt, **results}


def test_corpora_lists_four(cli: dict) -> None:
    result = cli["corpora"]
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["story", "brackets", "copy", "agreement"]


def test_train_prints_json_and_saves(cli: dict) -> None:
    lines = ok_json_lines(cli["train-lstm"])
    summary = lines[-1]
    for key in ("train_loss", "val_loss", "steps", "seconds", "tokens_per_second", "device",
                "parameters"):
        assert key in summary, key
    assert summary["steps"] == 20 and summary["outcome"] == "finished"
    assert summary["device"] in {"cpu", "cuda", "mps"}
    assert summary["parameters"] > 0 and summary["val_loss"] > 0
    assert summary["unknown_char_share"] == 0.0  # char tokens: every character is known
    assert summary["out"] == str(cli["lstm"])
    assert [line["step"] for line in lines[:-1]] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert {p.name for p in cli["lstm"].iterdir()} == RUN_FILES


def test_train_gpt(cli: dict) -> None:
    summary = ok_json_lines(cli["train-gpt"])[-1]
    assert summary["model"] == "gpt" and summary["steps"] == 10
    assert {p.name for p in cli["gpt"].iterdir()} == RUN_FILES
    run = load_run(cli["gpt"])
    assert run.train_config.precision == "bf16"  # --precision reaches training
    samples = [e.sample for e in run.history if e.sample]  # --sample-tokens: kept in the history
    # 6 char tokens each; an untrained model may pick the unknown token, written <unk>
    assert len(samples) == 10 and all(len(sample.replace("<unk>", "?")) == 6 for sample in samples)
    assert not any(e.sample for e in load_run(cli["lstm"]).history)  # none by default


def test_trace_lstm_json(cli: dict) -> None:
    data = ok_json(cli["trace-lstm"])
    assert data["tokens"] == list(TRACE_TEXT) and len(data["ids"]) == len(TRACE_TEXT)
    assert len(data["layers"]) == 1
    assert set(data["layers"][0]) == LSTM_GATES
    for values in data["layers"][0].values():
        assert len(values) == len(TRACE_TEXT) and all(len(row) == 16 for row in values)


def test_trace_gpt_json(cli: dict) -> None:
    data = ok_json(cli["trace-gpt"])
    length = len(TRACE_TEXT)
    assert data["tokens"] == list(TRACE_TEXT) and len(data["ids"]) == length
    attention = data["attention"]
    assert len(attention) == 1 and len(attention[0]) == 2  # [L][heads]
    assert all(len(rows) == length and all(len(row) == length for row in rows)
               for rows in attention[0])


def test_sample_json_is_seeded(cli: dict) -> None:
    first = ok_json(cli["sample-1"])
    assert first == ok_json(cli["sample-2"])
    assert len(first["steps"]) == 5
    for step in first["steps"]:
        assert set(step) >= {"token", "id", "probability", "rank", "top"}
        assert 1 <= step["rank"] <= 5 and 0 < step["probability"] <= 1
        assert len(step["top"]) == 3
        assert all(set(entry) == {"token", "id", "probability"} for entry in step["top"])
    assert first["text"] == "The " + "".join(step["token"] for step in first["steps"])


def test_sample_temperature_zero_is_greedy(cli: dict) -> None:
    data = ok_json(cli["greedy"])
    assert [step["rank"] for step in data["steps"]] == [1] * 6


def test_tokenize_bpe_json(cli: dict) -> None:
    data = ok_json(cli["tokenize"])
    text = TOKENIZE_TEXT
    assert "".join(data["pieces"]) == text
    assert len(data["pieces"]) == len(data["ids"]) == len(data["offsets"]) < len(text)
    for piece, (start, end) in zip(data["pieces"], data["offsets"], strict=True):
        assert text[start:end] == piece
    assert data["vocab_size"] == 300


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "error" in message
    return message


@pytest.mark.parametrize("name", list(BAD_ARGUMENTS))
def test_bad_arguments_fail_in_one_line(cli: dict, name: str) -> None:
    assert BAD_ARGUMENTS[name][1] in assert_one_line_error(cli[name])


def test_negative_temperature_fails_in_one_line(cli: dict) -> None:
    assert "temperature" in assert_one_line_error(cli["negative-temperature"])


@pytest.mark.parametrize("call", [("sample", "--prompt", "The"), ("trace", "--text", "The")])
def test_a_diverged_run_is_refused_in_one_line(lstm_run: Run, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str], call: tuple[str, ...]) -> None:
    """Its weights compute nothing meaningful: sample had printed text from them and exited 0."""
    save_run(replace(lstm_run, outcome="diverged"), tmp_path)
    assert main([call[0], str(tmp_path), *call[1:]]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"lmviz: error: {DIVERGED}\n"
