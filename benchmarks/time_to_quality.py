"""Time to quality: seconds for the app's default LSTM and GPT to reach a target validation loss.

Each model is exactly what the app trains by default, `lmviz.presets.configs(View(), family)` on
the `story` corpus (char tokens), run through lmviz's `Training`. Only reporting settings change
(they do not change the weights): validation every `--eval-every` steps (25) so the crossing is
seen, and no text samples. The target is 60% of the training text's unigram entropy (the loss of
a model that ignores context), in nats per token.

How to read it, per model (medians over `--repeats` seeds, 0, 1, 2, ...):
  - `to target s`: wall seconds from the first iteration (model init included) to the first
    validation at or under the target, evaluation time included; `at step` is that step, so the
    time resolution is one evaluation interval. `cpu s` is this process's CPU time over the
    same span (all threads; a busy machine inflates wall time far more than CPU time).
    `eval s` estimates how much of the wall time was validation (forward passes on the
    validation windows); `prep s` is Training(...) itself (tokenizer and data), which a visitor
    also waits for but the clock leaves out.
  - `bpc` is bits per character at the crossing; `final` is the validation loss (and bpc) when
    the default steps are done; `run s` is the whole default training.
  - If any seed misses the target in the default steps, every seed is trained again with
    steps = `--cap` (a longer cosine schedule, stopped at the target; `final` is then "-"): the
    row "<model> (N steps)"; "not reached in N steps" means the median seed missed even then.
The target for the default LSTM is <= 20 s on 2 CPU cores; other load on the machine slows
everything, so the 1-minute load average is printed alongside.

`--lr` trains at another learning rate (default: the app's, 0.01); `--lr 0.003` gives the old
default's figures, to compare.

    python benchmarks/time_to_quality.py [--quick] [--json] [--steps N] [--repeats N] [--cap N] [--lr X]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F

from lmviz.corpora import load_corpus
from lmviz.models import build_model, count_parameters
from lmviz.presets import View, configs
from lmviz.training import Training

TARGET_FRACTION = 0.6
LSTM_TARGET_SECONDS = 20.0


def eval_seconds(training: Training, repeats: int = 5) -> float:
    """Median seconds of one validation pass (what Training does at each evaluation)."""
    model = build_model(training.model_config).eval()
    windows = training.val_windows
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            started = time.perf_counter()
            logits = model(windows[:, :-1])
            F.cross_entropy(logits.flatten(0, 1), windows[:, 1:].flatten()).item()
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def measure(text: str, family: str, seed: int, steps: int, eval_every: int, stop_at_target: bool,
            lr: float = View().lr) -> dict:
    """One training; the first validation at or under the target, and the last validation."""
    tokenizer, model, train = configs(View(model=family, seed=seed, steps=steps, lr=lr), family)
    train = replace(train, eval_every=eval_every, sample_tokens=0)
    started = time.perf_counter()
    training = Training(text, "story", tokenizer, model, train)
    prep = time.perf_counter() - started
    target = TARGET_FRACTION * training.unigram_entropy
    to_bpc = 1 / math.log(2) / training.chars_per_token
    crossed: dict | None = None
    last_val = math.nan
    evaluations = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for event in training:
        if event.val_loss is None:
            continue
        evaluations += 1
        last_val = event.val_loss
        if crossed is None and event.val_loss <= target:
            crossed = {"step": event.step, "seconds": time.perf_counter() - started,
                       "cpu_seconds": time.process_time() - cpu_started,
                       "val_loss": event.val_loss, "bpc": event.val_loss * to_bpc,
                       "evaluations": evaluations}
            if stop_at_target:
                break
    if crossed is not None:
        crossed["eval_seconds"] = crossed["evaluations"] * eval_seconds(training)
    return {"family": family, "seed": seed, "steps": train.steps, "prep_seconds": prep,
            "seconds": time.perf_counter() - started, "unigram_entropy": training.unigram_entropy,
            "target": target, "crossed": crossed, "last_val_loss": last_val,
            "last_bpc": last_val * to_bpc,
            "parameters": count_parameters(build_model(training.model_config))}


def summarize(label: str, runs: list[dict], stopped_at_target: bool = False) -> dict:
    """Medians over seeds; a seed that missed the target counts as infinitely slow."""
    reached = [r["crossed"] for r in runs if r["crossed"]]
    inf = math.inf
    med = lambda values: statistics.median(values) if values else math.nan  # noqa: E731
    return {
        "label": label, "stopped_at_target": stopped_at_target, "seeds": len(runs), "reached": len(reached), "steps": runs[0]["steps"],
        "parameters": runs[0]["parameters"], "target": runs[0]["target"],
        "unigram_entropy": runs[0]["unigram_entropy"],
        "to_target_seconds": med([c["seconds"] if c else inf for c in (r["crossed"] for r in runs)]),
        "at_step": med([c["step"] if c else inf for c in (r["crossed"] for r in runs)]),
        "eval_seconds": med([c["eval_seconds"] for c in reached]),
        "cpu_seconds": med([c["cpu_seconds"] for c in reached]),
        "bpc_at_target": med([c["bpc"] for c in reached]),
        "final_val_loss": med([r["last_val_loss"] for r in runs]),
        "final_bpc": med([r["last_bpc"] for r in runs]),
        "run_seconds": med([r["seconds"] for r in runs]), "prep_seconds": med([r["prep_seconds"] for r in runs]),
        "runs": runs,
    }


def cell(value: float, width: int, digits: int) -> str:
    """A table cell: the number right-aligned, or "-" where it is inf or NaN (not reached)."""
    return f"{value:>{width}.{digits}f}" if math.isfinite(value) else f"{'-':>{width}}"


def print_table(result: dict) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 'story', char tokens; "
          f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after")
    print(f"target: validation loss <= {TARGET_FRACTION:.0%} of unigram entropy; eval every "
          f"{result['eval_every']} steps; learning rate {result['lr']:g}; medians over {result['repeats']} seed(s)\n")
    head = (f"{'model':<16} {'params':>7} {'target':>6} {'reached':>7} {'at step':>7} {'to target s':>16} "
            f"{'cpu s':>6} {'eval s':>6} {'bpc':>5} {'final':>5} {'f.bpc':>5} {'run s':>6} {'prep s':>6}")
    print(head)
    print("-" * len(head))
    for s in result["rows"]:
        if math.isfinite(s["to_target_seconds"]):
            when = f"{s['at_step']:>7.0f} {s['to_target_seconds']:>16.1f}"
        else:
            when = f"{'not reached in ' + str(s['steps']) + ' steps':>24}"
        final_loss = math.nan if s["stopped_at_target"] else s["final_val_loss"]
        final_bpc = math.nan if s["stopped_at_target"] else s["final_bpc"]
        print(f"{s['label']:<16} {s['parameters']:>7,} {s['target']:>6.3f} {s['reached']:>3}/{s['seeds']:<3} "
              f"{when} {cell(s['cpu_seconds'], 6, 1)} {cell(s['eval_seconds'], 6, 1)} "
              f"{cell(s['bpc_at_target'], 5, 2)} {cell(final_loss, 5, 3)} {cell(final_bpc, 5, 2)} "
              f"{s['run_seconds']:>6.1f} {s['prep_seconds']:>6.2f}")
    for s in result["rows"]:
        if s["label"].startswith("lstm") and not s["stopped_at_target"]:
            seconds = s["to_target_seconds"]
            verdict = "met" if seconds <= LSTM_TARGET_SECONDS else "NOT met"
            took = f"{seconds:.1f} s" if math.isfinite(seconds) else "not reached"
            print(f"\n{s['label']} to target: {took} (target <= {LSTM_TARGET_SECONDS:.0f} s: {verdict})")


def finite(value: object) -> object:
    """JSON has no inf or NaN: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 steps, 1 seed: a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--steps", type=int, default=0, help="steps per training (0: the app's default)")
    parser.add_argument("--repeats", type=int, default=3, help="seeds 0 .. repeats-1")
    parser.add_argument("--cap", type=int, default=3000, help="steps for a retry that missed the target")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--models", nargs="*", default=["lstm", "gpt"])
    parser.add_argument("--lr", type=float, default=View().lr, help="learning rate (the app's default)")
    args = parser.parse_args()
    steps, repeats, cap, eval_every = args.steps, args.repeats, args.cap, args.eval_every
    if args.quick:
        steps, repeats, cap, eval_every = args.steps or 50, 1, 100, 10
    text = load_corpus("story")
    load_before = os.getloadavg()[0]
    rows = []
    for family in args.models:
        runs = [measure(text, family, seed, steps, eval_every, False, args.lr) for seed in range(repeats)]
        label = f"{family} ({steps} steps)" if steps else f"{family} (default)"
        rows.append(summarize(label if args.lr == View().lr else f"{family} lr {args.lr:g}", runs))
        if any(r["crossed"] is None for r in runs) and cap > runs[0]["steps"]:
            retries = [measure(text, family, seed, cap, eval_every, True, args.lr) for seed in range(repeats)]
            rows.append(summarize(f"{family} ({cap} steps)", retries, stopped_at_target=True))
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "eval_every": eval_every, "lr": args.lr,
              "repeats": repeats, "load_before": load_before, "load_after": os.getloadavg()[0], "rows": rows}
    if args.json:
        print(json.dumps(finite(result), indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
