"""How good is `lmviz.cost.estimated_seconds`? Each shape trains for real (the app's settings,
one torch thread as the app trains, fewer steps) and the measured seconds are set beside the
estimate: `ratio` = measured / estimated (1.0 is exact; the app's words round it anyway).

The clock is the Run's own `seconds` (model init, every step, every evaluation with its
sample), the figure the estimate predicts; tokenizing the corpus is outside it.

    python benchmarks/cost.py [--quick] [--json] [--device cpu] [--gpu-sizes]

`--gpu-sizes` adds the sizes the Training page offers only with CUDA, trained for the app's
full 600 steps (after the shapes above, so CUDA's start is paid already): what the page's GPU
note quotes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from lmviz.corpora import load_corpus
from lmviz.cost import estimated_seconds
from lmviz.presets import View, configs
from lmviz.training import Training

SHAPES = [
    {"model": "lstm", "hidden_size": 32}, {"model": "lstm", "hidden_size": 128},
    {"model": "lstm", "hidden_size": 256}, {"model": "lstm", "hidden_size": 512},
    {"model": "lstm", "hidden_size": 128, "layers": 3, "context": 128},
    {"model": "lstm", "hidden_size": 128, "tokenizer": "bpe", "vocab_size": 2000},
    {"model": "gru", "hidden_size": 256}, {"model": "rnn", "hidden_size": 256},
    {"model": "gpt", "hidden_size": 64}, {"model": "gpt", "hidden_size": 128},
    {"model": "gpt", "hidden_size": 256}, {"model": "gpt", "hidden_size": 128, "layers": 4},
    {"model": "gpt", "hidden_size": 128, "context": 128},
    {"model": "gpt", "hidden_size": 256, "layers": 6},
]
GPU_SHAPES = [  # presets.GPU_HIDDEN_SIZES / GPU_CONTEXTS at their largest
    {"model": "gpt", "hidden_size": 384, "layers": 6, "heads": 8, "context": 256},
    {"model": "gpt", "hidden_size": 384, "layers": 6, "heads": 8, "context": 256, "precision": "bf16"},
    {"model": "lstm", "hidden_size": 1024}, {"model": "lstm", "hidden_size": 1024, "context": 256},
]


def measure(text: str, shape: dict, steps: int, device: str) -> dict:
    tokenizer, model, train = configs(replace(View(), steps=steps, **shape), device=device)
    training = Training(text, "story", tokenizer, model, train)
    for _ in training:
        pass
    run = training.run
    vocab = run.tokenizer.vocab_size
    estimate = estimated_seconds(replace(model, vocab_size=vocab), train, vocab, device)
    return {**shape, "steps": train.steps, "seconds": round(run.seconds, 2),
            "estimated": round(estimate, 2), "ratio": round(run.seconds / estimate, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two shapes, 20 steps")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--gpu-sizes", action="store_true",
                        help="also the GPU-only sizes, for the app's 600 steps")
    args = parser.parse_args()
    if args.gpu_sizes and args.device != "cuda":
        parser.error("--gpu-sizes needs --device cuda: the app offers those sizes only there")
    torch.set_num_threads(1)
    text = load_corpus("story")
    shapes, steps = (SHAPES[:2], 20) if args.quick else (SHAPES, 100)
    rows = [measure(text, shape, steps, args.device) for shape in shapes]
    if args.gpu_sizes:
        rows += [measure(text, shape, 0, args.device) for shape in GPU_SHAPES]  # 0: the app's
    ratios = [row["ratio"] for row in rows]
    summary = {"median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
               "max_ratio": max(ratios)}
    if args.json:
        print(json.dumps({"rows": rows, **summary}))
        return
    print(f"{'shape':<52} {'seconds':>8} {'estimate':>9} {'ratio':>6}")
    for row in rows:
        shape = ", ".join(f"{k}={v}" for k, v in row.items()
                          if k not in ("seconds", "estimated", "ratio", "steps"))
        print(f"{shape:<52} {row['seconds']:>8} {row['estimated']:>9} {row['ratio']:>6}")
    print(f"measured / estimated: median {summary['median_ratio']}, "
          f"range {summary['min_ratio']} .. {summary['max_ratio']} ({steps} steps each"
          + ("; the GPU sizes the app's 600)" if args.gpu_sizes else ")"))


if __name__ == "__main__":
    main()
