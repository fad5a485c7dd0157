"""Recurrent (LSTM, GRU, vanilla RNN) and tiny GPT language models, each with `trace()`.

Training uses the fused kernels (`nn.LSTM`, `scaled_dot_product_attention`); `trace()`
recomputes the internals for one short text from the same weights, step by step.
"""

from __future__ import annotations

import math
import threading
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ModelFamily = Literal["lstm", "gru", "rnn", "gpt"]
MODEL_FAMILIES: tuple[str, ...] = ("lstm", "gru", "rnn", "gpt")
RECURRENT_FAMILIES: tuple[str, ...] = ("lstm", "gru", "rnn")
# Names of the per-timestep arrays a recurrent trace holds, per family.
GATE_NAMES: dict[str, tuple[str, ...]] = {
    "lstm": ("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state"),
    "gru": ("reset_gate", "update_gate", "candidate", "hidden_state"),
    "rnn": ("hidden_state",),
}


class ModelConfigError(ValueError):
    """Model settings out of range; the message is for the user."""


@dataclass(frozen=True)
class ModelConfig:
    family: ModelFamily = "lstm"
    vocab_size: int = 96
    embed_size: int = 32  # recurrent models; the GPT embeds at its width (hidden_size)
    hidden_size: int = 128  # LSTM/GRU/RNN units, or the GPT's width
    layers: int = 1
    heads: int = 4  # gpt only
    context: int = 64  # training window; the GPT's maximum length
    dropout: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (self.family in MODEL_FAMILIES, f"model must be one of {', '.join(MODEL_FAMILIES)}"),
            (2 <= self.vocab_size <= 50_000, "vocab size must be between 2 and 50000"),
            (1 <= self.embed_size <= 4096, "embed size must be between 1 and 4096"),
            (1 <= self.hidden_size <= 4096, "hidden size must be between 1 and 4096"),
            (1 <= self.layers <= 12, "layers must be between 1 and 12"),
            (1 <= self.context <= 2048, "context must be between 1 and 2048"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
        ]
        if self.family == "gpt":
            checks.append((self.heads >= 1 and self.hidden_size % self.heads == 0,
                           f"hidden size {self.hidden_size} must be divisible by heads {self.heads}"))
        for ok, message in checks:
            if not ok:
                raise ModelConfigError(message)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Trace:
    """Everything a page shows about one text, as plain arrays (numpy, float32, on the CPU)."""

    ids: list[int]
    logits: np.ndarray  # (T, V) next-token logits after each position
    embeddings: np.ndarray  # (V, E) the token embedding matrix
    inputs: np.ndarray  # (T, E) this text's embedding vectors (plus position, for the GPT)
    layers: list[dict[str, np.ndarray]] = field(default_factory=list)  # recurrent: name -> (T, H)
    attention: np.ndarray | None = None  # gpt: (L, heads, T, T), rows sum to 1
    queries: np.ndarray | None = None  # gpt: (L, heads, T, head_size)
    keys: np.ndarray | None = None
    values: np.ndarray | None = None
    positional: np.ndarray | None = None  # gpt: (context, width)

    def probabilities(self) -> np.ndarray:
        """Softmax of the logits at every position, (T, V)."""
        shifted = self.logits - self.logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)


class RecurrentLM(nn.Module):
    """Embedding -> nn.LSTM / nn.GRU / nn.RNN -> linear head. No layer between embedding and cell."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[config.family]
        self.embedding = nn.Embedding(config.vocab_size, config.embed_size)
        self.rnn = cell(config.embed_size, config.hidden_size, num_layers=config.layers,
                        batch_first=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # the cell always in fp32: under autocast, cuDNN's recurrent kernels run in fp16 whatever
        # dtype was asked for (recasting the weights every step); only the head follows autocast.
        # Entered only under autocast: a GPU step is launch-bound, and each Python call counts
        device = ids.device.type
        with torch.autocast(device, enabled=False) if torch.is_autocast_enabled(device) else nullcontext():
            out, _ = self.rnn(self.embedding(ids))  # (B, T, H)
        return self.head(self.drop(out))  # (B, T, V)

    @torch.no_grad()
    def trace(self, ids: list[int]) -> Trace:
        family = self.config.family
        x = self.embedding(torch.tensor(ids, device=self.head.weight.device))  # (T, E)
        inputs = x
        layers = []
        for layer in range(self.config.layers):
            w_ih = getattr(self.rnn, f"weight_ih_l{layer}")
            w_hh = getattr(self.rnn, f"weight_hh_l{layer}")
            b_ih = getattr(self.rnn, f"bias_ih_l{layer}")
            b_hh = getattr(self.rnn, f"bias_hh_l{layer}")
            step = {"lstm": _lstm_steps, "gru": _gru_steps, "rnn": _rnn_steps}[family]
            values = step(x, w_ih, w_hh, b_ih, b_hh)
            layers.append({name: v.float().cpu().numpy() for name, v in values.items()})
            x = values["hidden_state"]
        logits = self.head(x)
        return Trace(ids=list(ids), logits=logits.float().cpu().numpy(),
                     embeddings=self.embedding.weight.float().cpu().numpy(),
                     inputs=inputs.float().cpu().numpy(), layers=layers)


def _lstm_steps(x, w_ih, w_hh, b_ih, b_hh) -> dict[str, torch.Tensor]:
    """PyTorch's LSTM equations one timestep at a time (gate order i, f, g, o)."""
    hidden = w_hh.shape[1]
    pre_input = x @ w_ih.T + b_ih + b_hh  # (T, 4H): the input part needs no recurrence
    h = x.new_zeros(hidden)
    c = x.new_zeros(hidden)
    names = GATE_NAMES["lstm"]
    out: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    for t in range(x.shape[0]):
        gates = pre_input[t] + w_hh @ h
        i, f, g, o = gates.split(hidden)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(names, (i, f, g, o, c, h), strict=True):
            out[name].append(value)
    return {n: torch.stack(v) for n, v in out.items()}


def _gru_steps(x, w_ih, w_hh, b_ih, b_hh) -> dict[str, torch.Tensor]:
    """PyTorch's GRU equations (gate order r, z, n)."""
    hidden = w_hh.shape[1]
    pre_input = x @ w_ih.T + b_ih  # (T, 3H)
    h = x.new_zeros(hidden)
    out: dict[str, list[torch.Tensor]] = {n: [] for n in GATE_NAMES["gru"]}
    for t in range(x.shape[0]):
        xr, xz, xn = pre_input[t].split(hidden)
        hr, hz, hn = (w_hh @ h + b_hh).split(hidden)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        for name, value in zip(GATE_NAMES["gru"], (r, z, n, h), strict=True):
            out[name].append(value)
    return {k: torch.stack(v) for k, v in out.items()}


def _rnn_steps(x, w_ih, w_hh, b_ih, b_hh) -> dict[str, torch.Tensor]:
    """Elman RNN: h = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    pre_input = x @ w_ih.T + b_ih + b_hh
    h = x.new_zeros(w_hh.shape[1])
    states = []
    for t in range(x.shape[0]):
        h = torch.tanh(pre_input[t] + w_hh @ h)
        states.append(h)
    return {"hidden_state": torch.stack(states)}


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        width = config.hidden_size
        self.heads = config.heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.dropout = config.dropout
        self.drop = nn.Dropout(config.dropout)

    def split_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(width, dim=-1)
        shape = (batch, length, self.heads, width // self.heads)
        return tuple(t.view(shape).transpose(1, 2) for t in (q, k, v))  # 3 x (B, nh, T, hs)

    def finish(self, x: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
        batch, _, length, _ = mixed.shape
        mixed = mixed.transpose(1, 2).reshape(batch, length, -1)  # (B, T, C)
        x = x + self.drop(self.proj(mixed))
        return x + self.drop(self.mlp(self.ln_2(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split_heads(x)
        drop = self.dropout if self.training else 0.0
        return self.finish(x, F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True))


class GPT(nn.Module):
    """A tiny decoder-only transformer with learned positions and tied input/output embeddings."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        width = config.hidden_size
        self.embedding = nn.Embedding(config.vocab_size, width)
        self.position = nn.Embedding(config.context, width)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, config.vocab_size, bias=False)
        self.head.weight = self.embedding.weight
        self.apply(_init_weights)
        for block in self.blocks:  # scaled residual init, as in GPT-2
            std = 0.02 / math.sqrt(2 * config.layers)
            nn.init.normal_(block.proj.weight, std=std)
            nn.init.normal_(block.mlp[2].weight, std=std)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[-1], device=ids.device)
        return self.embedding(ids) + self.position(positions)  # (B, T, C)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embed(ids))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, V)

    @torch.no_grad()
    def extend(self, ids: torch.Tensor, cache: list | None = None) -> tuple[torch.Tensor, list]:
        """Logits for new tokens ids (1, n) after the cached keys and values of earlier ones
        (positions continue from the cache): one token per step when generating."""
        start = 0 if cache is None else cache[0][0].shape[2]
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.embedding(ids) + self.position(positions)  # (1, n, C)
        new_cache = []
        for i, block in enumerate(self.blocks):
            q, k, v = block.split_heads(x)  # (1, nh, n, hs)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=2)  # (1, nh, start + n, hs)
                v = torch.cat([cache[i][1], v], dim=2)
            new_cache.append((k, v))
            # new token j sits at start + j: it sees every cached key and the new ones up to j
            # (one new token sees them all: no mask, the common case while generating)
            visible = None
            if q.shape[2] > 1:
                visible = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=x.device)
                visible = visible.tril(diagonal=start)
            x = block.finish(x, F.scaled_dot_product_attention(q, k, v, attn_mask=visible))
        return self.head(self.ln_f(x)), new_cache

    @torch.no_grad()
    def trace(self, ids: list[int]) -> Trace:
        device = self.head.weight.device
        x = self.embed(torch.tensor([ids], device=device))  # (1, T, C)
        inputs = x[0]
        length = x.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
        attention, queries, keys, values = [], [], [], []
        for block in self.blocks:
            q, k, v = block.split_heads(x)  # (1, nh, T, hs)
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            weights = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            x = block.finish(x, weights @ v)
            for store, value in zip((attention, queries, keys, values), (weights, q, k, v), strict=True):
                store.append(value[0])
        logits = self.head(self.ln_f(x))[0]
        as_np = lambda items: torch.stack(items).float().cpu().numpy()  # noqa: E731
        return Trace(ids=list(ids), logits=logits.float().cpu().numpy(),
                     embeddings=self.embedding.weight.float().cpu().numpy(),
                     inputs=inputs.float().cpu().numpy(), attention=as_np(attention),
                     queries=as_np(queries), keys=as_np(keys), values=as_np(values),
                     positional=self.position.weight.float().cpu().numpy())


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


LanguageModel = RecurrentLM | GPT


# torch's default generators are the process's, and the app trains two models at once in
# threads (lmviz.jobs): a model's initial weights and a training's dropout masks draw from them
# under this lock only, each from a state of its own, the process's put back after
# (lmviz.training.DropoutStream). Else a model built beside a training (a run loaded from disk)
# took numbers out of its stream, and one run key named two sets of weights.
RNG_LOCK = threading.Lock()


def build_model(config: ModelConfig, seed: int | None = None) -> LanguageModel:
    """The model with its initial weights from `seed` (None: whatever the generator gives, for
    weights loaded over them), drawn under RNG_LOCK from the CPU's generator, which is put back."""
    with RNG_LOCK, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)
        return GPT(config) if config.family == "gpt" else RecurrentLM(config)


def max_trace_length(config: ModelConfig) -> int | None:
    """The longest text a model can trace: the GPT's context; recurrent models have no limit."""
    return config.context if config.family == "gpt" else None


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
