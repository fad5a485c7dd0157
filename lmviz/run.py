"""A Run: the frozen result of one training (configs, tokenizer, weights, history), saved as a folder.

A folder holds `model.safetensors`, `config.json`, `tokenizer.json` and `history.json`. Nothing is
ever unpickled: loading reads JSON and safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from lmviz.models import LanguageModel, ModelConfig, build_model, count_parameters
from lmviz.tokenizers import Tokenizer, TokenizerConfig, tokenizer_from_json

DIVERGED = ("this run diverged (its loss exploded to NaN or far above a random guess): train "
            "again with a lower learning rate")


class RunError(ValueError):
    """A run folder that cannot be read; the message is for the user."""


PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-2
    weight_decay: float = 0.01
    warmup: int = 30
    clip: float = 1.0  # max gradient norm; 0 turns clipping off
    seed: int = 0
    eval_every: int = 100
    log_every: int = 10  # a progress event (one host sync) every this many steps
    eval_windows: int = 64
    sample_tokens: int = 80  # a sample at each evaluation; 0 for none
    device: str = "auto"
    precision: str = "fp32"  # "bf16": forward under bfloat16 autocast (recurrent cells and weights stay fp32)

    def __post_init__(self) -> None:
        checks = [
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (1 <= self.steps <= 1_000_000, "steps must be between 1 and 1000000"),
            (1 <= self.batch_size <= 4096, "batch size must be between 1 and 4096"),
            (0.0 < self.lr <= 100.0 and math.isfinite(self.lr), "learning rate must be in (0, 100]"),
            (self.clip >= 0.0, "clip must be >= 0 (0 turns it off)"),
            (self.eval_every >= 1 and self.log_every >= 1, "eval_every and log_every must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class Event:
    """One report from training: progress every log_every steps, validation every eval_every."""

    step: int
    steps: int
    train_loss: float
    val_loss: float | None
    grad_norm: float
    lr: float
    tokens_per_second: float
    seconds: float
    sample: str | None = None
    outcome: str | None = None  # None while training; "finished", "diverged" or "cancelled" at the end

    def to_dict(self) -> dict:
        return asdict(self)


# Settings that change how often training reports, not the weights it produces.
REPORTING_FIELDS = ("eval_every", "log_every", "eval_windows", "sample_tokens", "device")
# Fields added after runs were shipped: left out of the key at these values, so older keys hold.
LATER_FIELDS = {"precision": "fp32"}


def run_key(corpus_text: str, tokenizer: TokenizerConfig, model: ModelConfig, train: TrainConfig) -> str:
    """Hash of everything that determines a run's weights: identical settings give the same key,
    so the CLI can produce a run the app then finds (reporting settings and device are left out)."""
    weights = {k: v for k, v in asdict(train).items()
               if k not in REPORTING_FIELDS and not (k in LATER_FIELDS and LATER_FIELDS[k] == v)}
    blob = json.dumps({
        "corpus": hashlib.sha256(corpus_text.encode("utf-8")).hexdigest(),
        "tokenizer": asdict(tokenizer), "model": asdict(model), "train": weights,
    }, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Run:
    """Immutable once made: the model is in eval mode on the CPU with gradients off."""

    key: str
    corpus: str  # a built-in corpus name, or "upload:<hash>"
    tokenizer: Tokenizer
    tokenizer_config: TokenizerConfig
    model_config: ModelConfig
    train_config: TrainConfig
    model: LanguageModel
    history: tuple[Event, ...]
    outcome: str
    device: str
    seconds: float
    chars_per_token: float  # of the validation text, to turn nats per token into bits per character
    unigram_entropy: float  # nats per token of the training text's token frequencies
    # of the validation text's characters, the share inside <unk> tokens: the model never spells
    # them out, so bits per character leaves them out (flattering word tokens on a small vocabulary)
    unknown_char_share: float = 0.0
    sample_start: str = "\n"  # what its evaluation samples started from (training.sample_start)
    # False: the validation part was under 2 tokens, and the loss called validation was measured
    # on the training text's end (a tiny upload in words or BPE pieces)
    held_out: bool = True
    # these weights, among runs of one key: a key trained again (its run evicted from a store)
    # may come out different on a GPU, and what was derived from the old weights must not pass
    # for the new ones' (ui.caching); not saved, not compared
    instance: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False, repr=False)

    @property
    def parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def usable(self) -> bool:
        """False when training diverged: the loss became NaN or rose far above a random guess's
        (the weights are finite as a rule, but what they compute means nothing)."""
        return self.outcome != "diverged"

    @property
    def final(self) -> Event | None:
        return self.history[-1] if self.history else None

    @property
    def val_loss(self) -> float | None:
        losses = [e.val_loss for e in self.history if e.val_loss is not None]
        return losses[-1] if losses else None

    @property
    def bits_per_char(self) -> float | None:
        loss = self.val_loss
        if loss is None or not math.isfinite(loss):
            return None
        return loss / math.log(2) / self.chars_per_token

    def summary(self) -> dict:
        """The figures the CLI prints and the runs table shows."""
        last = self.final
        return {
            "key": self.key, "corpus": self.corpus, "model": self.model_config.family,
            "tokenizer": self.tokenizer_config.kind, "outcome": self.outcome,
            "train_loss": last.train_loss if last else None, "val_loss": self.val_loss,
            "bits_per_char": self.bits_per_char, "steps": last.step if last else 0,
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(last.tokens_per_second, 1) if last else 0.0,
            "device": self.device, "parameters": self.parameters,
            "unigram_entropy": self.unigram_entropy,
            # bits per character count an <unk> as one guess: 0.15 with a vocabulary of 3 words
            "unknown_char_share": round(self.unknown_char_share, 4),
        }


def freeze(model: LanguageModel) -> LanguageModel:
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def save_run(run: Run, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_model(run.model, str(folder / "model.safetensors"))  # CPU tensors: loads anywhere
    config = {
        "key": run.key, "corpus": run.corpus, "outcome": run.outcome, "device": run.device,
        "seconds": run.seconds, "chars_per_token": run.chars_per_token,
        "unigram_entropy": run.unigram_entropy, "unknown_char_share": run.unknown_char_share,
        "sample_start": run.sample_start, "held_out": run.held_out,
        "parameters": run.parameters,
        "tokenizer": asdict(run.tokenizer_config), "model": asdict(run.model_config),
        "train": asdict(run.train_config),
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "tokenizer.json").write_text(run.tokenizer.to_json(), encoding="utf-8")
    history = [e.to_dict() for e in run.history]
    (folder / "history.json").write_text(json.dumps(history), encoding="utf-8")
    return folder


def _dataclass_from(cls: type, data: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _file_instance(key: str, weights: Path) -> str:
    """A loaded run's instance: its key and its weights file's size and time of change."""
    stat = weights.stat()
    return f"{key}:{stat.st_size}:{stat.st_mtime_ns}"


def load_run(folder: str | Path) -> Run:
    folder = Path(folder)
    needed = ["config.json", "tokenizer.json", "history.json", "model.safetensors"]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise RunError(f"{folder} is not a run folder (missing {', '.join(missing)})")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        model_config = _dataclass_from(ModelConfig, config["model"])
        model = build_model(model_config)
        load_model(model, str(folder / "model.safetensors"), device="cpu")
        history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        return Run(
            key=config["key"], corpus=config["corpus"],
            tokenizer=tokenizer_from_json((folder / "tokenizer.json").read_text(encoding="utf-8")),
            tokenizer_config=_dataclass_from(TokenizerConfig, config["tokenizer"]),
            model_config=model_config, train_config=_dataclass_from(TrainConfig, config["train"]),
            model=freeze(model), history=tuple(_dataclass_from(Event, e) for e in history),
            outcome=config["outcome"], device=config["device"], seconds=config["seconds"],
            chars_per_token=config["chars_per_token"], unigram_entropy=config["unigram_entropy"],
            unknown_char_share=config.get("unknown_char_share", 0.0),  # older runs: not measured
            sample_start=config.get("sample_start", "\n"),  # older runs: all of char tokens
            held_out=config.get("held_out", True),
            # the same file, the same weights: a shipped run loaded again (evicted from a store)
            # keeps what was cached from it
            instance=_file_instance(config["key"], folder / "model.safetensors"),
        )
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as err:
        raise RunError(f"cannot read run folder {folder}: {err}") from err


def weights_on(run: Run, device: torch.device) -> LanguageModel:
    """The run's model on a device, for traces there (the Run itself stays on the CPU)."""
    if device.type == "cpu":
        return run.model
    copy = build_model(run.model_config)
    copy.load_state_dict(run.model.state_dict())
    return freeze(copy.to(device))
