"""Training throughput: lmviz's `Training` iterator against a plain PyTorch loop of the same LSTM.

What it measures, per hidden size (128, 256, 512; batch 64, context 64, char tokens of `story`):
  - lmviz: `Training(...)` is built outside the clock (tokenizer, data prep); the clock covers
    iterating it: model init, optimizer, every step with its events (log_every=50), the one
    validation pass Training always does at the last step (eval_every > steps, no samples) and
    freezing the Run. Nothing is subtracted.
  - plain: the loop anyone would write: nn.Embedding(V, 32) -> nn.LSTM(32, H) -> nn.Linear(H, V),
    AdamW with the same groups and betas, clip_grad_norm_(1.0), random windows from the same
    token tensor, `.item()` only at the end. Its clock covers model init too.
Runs alternate (lmviz, plain, lmviz, plain, ...) after one warmup of each, so load from other
processes hits both alike; figures are medians.

How to read it: `ms/step` and `tok/s` are medians; `ratio` = lmviz steps/s ÷ plain steps/s
(target >= 0.95; `pair` is the median of the per-repetition ratios, steadier on a busy machine).
`GFLOP/s` counts only the LSTM and head matmuls, forward 2·B·T·(4H·(E+H) + H·V), ×3 for
forward + backward, and `%peak` compares it with this machine's fp32 matmul rate (median of
2048×2048 torch.matmul at torch's default thread count), measured before and after.

    python benchmarks/throughput.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F
from torch import nn

from lmviz.corpora import load_corpus
from lmviz.models import ModelConfig
from lmviz.run import TrainConfig
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import Training

BATCH, CONTEXT, EMBED = 64, 64, 32
FULL_STEPS = {128: 60, 256: 45, 512: 30}  # timed steps per repetition
QUICK_STEPS = {128: 3, 256: 3, 512: 3}


class PlainLSTM(nn.Module):
    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, EMBED)
        self.lstm = nn.LSTM(EMBED, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))  # (B, T, H)
        return self.head(out)  # (B, T, V)


class PlainBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        qkv = self.qkv(self.ln_1(x)).view(batch, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(mixed.transpose(1, 2).reshape(batch, length, width))
        return x + self.out(F.gelu(self.fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    """A minimal GPT of lmviz's GPT shape: learned positions, pre-norm blocks, tied head."""

    def __init__(self, vocab: int, width: int, layers: int, heads: int, context: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(PlainBlock(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.embedding.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids) + self.position(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, V)


def plain_seconds(ids: torch.Tensor, vocab: int, hidden: int, steps: int, seed: int = 0, *,
                  build: Callable[[], nn.Module] | None = None, batch: int = BATCH,
                  context: int = CONTEXT) -> float:
    """Seconds for model init + `steps` steps of a plain loop on `ids`' device, with one host sync
    at the end. `build` makes the model (default: PlainLSTM(vocab, hidden)); on CUDA, AdamW is the
    fused kernel and windows are drawn on the GPU, as lmviz does."""
    device = ids.device
    started = time.perf_counter()
    torch.manual_seed(seed)
    model = (build() if build is not None else PlainLSTM(vocab, hidden)).to(device)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=TrainConfig().lr, betas=(0.9, 0.99),
                                  fused=device.type == "cuda")
    generator = torch.Generator(device=device).manual_seed(seed)
    offsets = torch.arange(context + 1, device=device)
    high = len(ids) - context - 1
    loss_sum = torch.zeros((), device=device)
    for _ in range(steps):
        starts = torch.randint(0, high + 1, (batch,), device=device, generator=generator)
        window = ids[starts[:, None] + offsets]  # (B, T+1)
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), window[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_sum += loss.detach()
    loss_sum.item()
    return time.perf_counter() - started


def make_training(text: str, hidden: int, steps: int) -> Training:
    model = ModelConfig(family="lstm", hidden_size=hidden, embed_size=EMBED, context=CONTEXT)
    train = TrainConfig(steps=steps, batch_size=BATCH, log_every=50, eval_every=steps + 1,
                        sample_tokens=0, device="cpu")
    return Training(text, "story", TokenizerConfig("char", 256), model, train)


def lmviz_seconds(training: Training) -> float:
    started = time.perf_counter()
    for _ in training:
        pass
    return time.perf_counter() - started


def matmul_gflops(size: int = 2048, repeats: int = 5) -> list[float]:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)  # warm up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    return rates


def step_flops(hidden: int, vocab: int) -> float:
    forward = 2 * BATCH * CONTEXT * (4 * hidden * (EMBED + hidden) + hidden * vocab)
    return 3.0 * forward


def bench_size(text: str, hidden: int, steps: int, repeats: int) -> dict:
    training = make_training(text, hidden, steps)
    vocab = training.model_config.vocab_size
    ids = training.train_ids
    lmviz_seconds(make_training(text, hidden, max(2, steps // 5)))  # warm up both paths
    plain_seconds(ids, vocab, hidden, max(2, steps // 5))
    lmviz_ms, plain_ms = [], []
    for _ in range(repeats):  # interleaved: lmviz, plain, lmviz, plain, ...
        lmviz_ms.append(1000 * lmviz_seconds(training) / steps)
        plain_ms.append(1000 * plain_seconds(ids, vocab, hidden, steps) / steps)
    lm, pl = statistics.median(lmviz_ms), statistics.median(plain_ms)
    flops = step_flops(hidden, vocab)
    return {
        "hidden": hidden, "vocab": vocab, "steps": steps, "repeats": repeats,
        "lmviz_ms": lm, "plain_ms": pl, "lmviz_ms_all": lmviz_ms, "plain_ms_all": plain_ms,
        "lmviz_tokens_per_s": BATCH * CONTEXT / lm * 1000, "plain_tokens_per_s": BATCH * CONTEXT / pl * 1000,
        "ratio": pl / lm, "pair_ratio": statistics.median(p / m for p, m in zip(plain_ms, lmviz_ms, strict=True)),
        "gflop_per_step": flops / 1e9,
        "lmviz_gflops": flops / lm / 1e6, "plain_gflops": flops / pl / 1e6,
    }


def print_table(result: dict) -> None:
    peak = result["peak_gflops"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH}, context "
          f"{CONTEXT}, embed {EMBED}, char tokens of 'story'")
    print(f"fp32 matmul peak (2048x2048, median): {peak:.1f} GFLOP/s "
          f"(before {result['peak_before']:.1f}, after {result['peak_after']:.1f})\n")
    head = (f"{'hidden':>6} {'steps':>5} {'lmviz ms':>9} {'plain ms':>9} {'lmviz tok/s':>11} "
            f"{'plain tok/s':>11} {'ratio':>6} {'pair':>6} {'GF/step':>7} {'lmviz GF/s':>10} "
            f"{'%peak':>6} {'plain GF/s':>10} {'%peak':>6}")
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        print(f"{r['hidden']:>6} {r['steps']:>5} {r['lmviz_ms']:>9.1f} {r['plain_ms']:>9.1f} "
              f"{r['lmviz_tokens_per_s']:>11,.0f} {r['plain_tokens_per_s']:>11,.0f} {r['ratio']:>6.3f} "
              f"{r['pair_ratio']:>6.3f} {r['gflop_per_step']:>7.2f} {r['lmviz_gflops']:>10.1f} "
              f"{100 * r['lmviz_gflops'] / peak:>5.1f}% {r['plain_gflops']:>10.1f} "
              f"{100 * r['plain_gflops'] / peak:>5.1f}%")
    print("\nratio = lmviz steps/s ÷ plain steps/s (target >= 0.95); pair = median per-repetition ratio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 steps, 1 repetition: a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="*", default=[128, 256, 512])
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    steps = QUICK_STEPS if args.quick else FULL_STEPS
    text = load_corpus("story")
    before = matmul_gflops(repeats=2 if args.quick else 5)
    rows = [bench_size(text, h, steps.get(h, 30), repeats) for h in args.hidden]
    after = matmul_gflops(repeats=2 if args.quick else 5)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": BATCH,
              "context": CONTEXT, "embed": EMBED, "peak_gflops": statistics.median(before + after),
              "peak_before": statistics.median(before), "peak_after": statistics.median(after),
              "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
