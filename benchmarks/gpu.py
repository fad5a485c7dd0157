"""GPU benchmark: lmviz's training against a plain PyTorch loop, and the seconds to quality.

Part 1, ms per training step, side by side in one run, at each shape (char tokens of `story`):
LSTM hidden 256 / 512 / 1024 at batch 64 and 256, context 64 (embed 32, 1 layer); GPT width 128
× 4 layers × 4 heads, context 128, batch 64 (`--gpt-batch`).
  - lmviz: `Training(...)` with those shapes, built outside the clock (tokenizer, data on the
    device). The clock covers iterating it: model init and move to the device, fused AdamW
    (`make_optimizer`), every step with its learning-rate schedule and events (log_every 12, what
    the app uses for its default 600 steps: `presets.configs`, steps // 50; one host sync per
    event), the one validation pass Training always does at the last step (eval_every > steps,
    no samples) and freezing the Run (weights copied to the CPU). Nothing is subtracted.
  - plain: `benchmarks.throughput.plain_seconds`, the loop anyone would write, run on the same
    device: model init, AdamW with the same groups and betas (fused on CUDA, as lmviz), random
    windows drawn on the device from the same token tensor, clip_grad_norm_(1.0), `.item()` only
    at the end; no schedule, no events, no validation. Its LSTM is throughput's `PlainLSTM`
    (nn.Embedding(V, 32) -> nn.LSTM(32, H) -> nn.Linear(H, V)); its GPT is throughput's `PlainGPT`, a
    minimal nanoGPT-style model, not lmviz's: the same shape and parameter count
    (learned positions, pre-norm blocks, fused qkv, SDPA causal attention, 4x GELU MLP, final
    LayerNorm, head tied to the embedding), so the comparison covers lmviz's model code as well
    as its loop, as it does for the LSTM.
  - bf16: lmviz again with `TrainConfig(precision="bf16")` (bfloat16 autocast; weights,
    optimizer and loss in fp32), same clock.
  - eager: lmviz again without CUDA graphs (`Training(..., cuda_graphs=False)`, what
    LMVIZ_CUDA_GRAPHS=0 gives): every step launched kernel by kernel, as the plain loop is. On
    CUDA, lmviz replays each step after the first few as one CUDA graph (`lmviz.graphed`), which
    the clock includes (the eager warm-up steps and the capture).
On CUDA the clock starts and stops after `torch.cuda.synchronize()`. Each shape warms up every
variant first (CUDA context, cuDNN and cuBLAS handles, allocator), then repetitions alternate
lmviz, plain, lmviz bf16, lmviz eager, lmviz, plain, ... so drift hits all alike; figures are
medians. `graphed` (and `bf16_graphed`) in the JSON say whether the steps were replayed.

How to read it: `ms/step` = clock ÷ steps (medians of `--repeats`). `ratio` = plain ms/step ÷
lmviz ms/step: >= 1.0 means lmviz is at least as fast as the plain loop (the target, at every
shape); `pair` is the median of the per-repetition ratios, steadier on a busy machine.
`bf16 ×` = lmviz fp32 ms ÷ lmviz bf16 ms: > 1.0 means bf16 autocast helps at that shape.

Part 2, time to quality: seconds until the validation loss is at or below 60% of the unigram
entropy of the training text (the loss of a model that ignores context), for the app's default
LSTM and default GPT exactly as the app trains them (`presets.configs(View(model=...),
device=...)`: batch 32, context 64, 600 steps, 80-token samples at each evaluation), through the
call the Training page makes: `RunStore.submit` starts the training in a background thread
(`lmviz.jobs`), and this thread follows its events the way the page's live view does
(`Job.looks`: at once, then at most every 0.4 s, so drawing never slows the training, at once
for a validation event, and at once when it ends). The store is a fresh one per training with no shipped runs
(the app ships the default runs, so pressing Train there shows them at once). The clock runs
from `submit` to the watcher holding the first event with a validation loss at or below the
target: thread start, Training's data prep, model init, every step, every validation pass and
sample before it, and the viewer's wake-up (a validation wakes it at once). Then the job is cancelled. `train s` is the event's
own `seconds` (Training's clock, steps and evaluations only). Validation only happens every
eval_every steps, so `at step` is the resolution: each model runs with the app's eval_every
(steps // 10 = 60: what a visitor sees) and with every 25 steps (`--eval-every`) to place the
crossing closer; only the reporting changes, not the weights. Medians over seeds 0 .. repeats-1;
one untimed warmup training per model first. Rows "hidden 512" and "4 layers" are the same path
with those app settings, the shapes of the issue's reference figures (full run only).

Torch runs with the app's thread count (`LMVIZ_TORCH_THREADS`, default 1; `--threads`).

    python benchmarks/gpu.py [--device cuda] [--quick] [--json] [--repeats 3]

`--device cpu --quick` is a smoke run (2 shapes, a few steps, 1 seed; the GPT does not reach the
target in its capped steps): it checks the script, not the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks.throughput import EMBED, PlainGPT, PlainLSTM, lmviz_seconds, plain_seconds
from benchmarks.time_to_quality import TARGET_FRACTION, cell, finite
from lmviz.corpora import load_corpus
from lmviz.device import pick_device
from lmviz.jobs import RunStore
from lmviz.models import ModelConfig, build_model, count_parameters
from lmviz.presets import View, configs
from lmviz.run import TrainConfig
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import Training

LSTM_CONTEXT, GPT_CONTEXT, GPT_LAYERS, GPT_HEADS, GPT_WIDTH = 64, 128, 4, 4, 128
APP_LOG_EVERY = configs(View())[2].log_every  # 12: the app's default 600 steps // 50
APP_PARALLEL = 2  # lmviz.ui.state.MAX_PARALLEL_TRAININGS (that module imports streamlit)
LSTM_TARGET_SECONDS = 1.0  # the default LSTM's target on the H100
QUICK_TTQ_GPT_STEPS = 60


# ---------------------------------------------------------------------------------------------
# Part 1: ms per step


def shapes(quick: bool, gpt_batches: list[int]) -> list[dict]:
    """The issue's shapes; --quick keeps one LSTM and the GPT."""
    lstm = [{"family": "lstm", "hidden": h, "layers": 1, "batch": b, "context": LSTM_CONTEXT}
            for h in (256, 512, 1024) for b in (64, 256)]
    gpt = [{"family": "gpt", "hidden": GPT_WIDTH, "layers": GPT_LAYERS, "batch": b,
            "context": GPT_CONTEXT} for b in gpt_batches]
    return [lstm[0], *gpt[:1]] if quick else lstm + gpt


def model_config(shape: dict) -> ModelConfig:
    return ModelConfig(family=shape["family"], hidden_size=shape["hidden"], embed_size=EMBED,
                       layers=shape["layers"], heads=GPT_HEADS, context=shape["context"])


def plain_builder(shape: dict, vocab: int):
    if shape["family"] == "gpt":
        return lambda: PlainGPT(vocab, shape["hidden"], shape["layers"], GPT_HEADS, shape["context"])
    return lambda: PlainLSTM(vocab, shape["hidden"])


# lmviz's timed variants: as the app trains, in bf16, and without CUDA graphs
LMVIZ_VARIANTS: dict[str, dict] = {"lmviz": {}, "bf16": {"precision": "bf16"},
                                   "eager": {"cuda_graphs": False}}


def make_training(text: str, shape: dict, steps: int, device: str, precision: str = "fp32",
                  cuda_graphs: bool = True) -> Training:
    train = TrainConfig(steps=steps, batch_size=shape["batch"], log_every=APP_LOG_EVERY,
                        eval_every=steps + 1, sample_tokens=0, device=device, precision=precision)
    return Training(text, "story", TokenizerConfig("char", 256), model_config(shape), train,
                    cuda_graphs=cuda_graphs)


def synced(device: torch.device, run) -> float:
    """Seconds of run(), the device idle at both ends."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def bench_shape(text: str, shape: dict, steps: int, warmup: int, repeats: int, device: str) -> dict:
    trainings = {name: make_training(text, shape, steps, device, **settings)  # built outside the clock
                 for name, settings in LMVIZ_VARIANTS.items()}
    lmviz, bf16 = trainings["lmviz"], trainings["bf16"]
    vocab, ids, where = lmviz.model_config.vocab_size, lmviz.train_ids, lmviz.device
    build = plain_builder(shape, vocab)
    lmviz_params = count_parameters(build_model(lmviz.model_config))
    plain_params = count_parameters(build())
    assert lmviz_params == plain_params, f"plain model has {plain_params} weights, lmviz {lmviz_params}"

    def plain(n: int) -> None:
        plain_seconds(ids, vocab, shape["hidden"], n, build=build, batch=shape["batch"],
                      context=shape["context"])

    def untimed_warmup(name: str) -> None:
        if name == "plain":
            plain(warmup)
        else:
            lmviz_seconds(make_training(text, shape, warmup, device, **LMVIZ_VARIANTS[name]))

    order = ["lmviz", "plain", "bf16", "eager"]
    runs = {name: (lambda: plain(steps)) if name == "plain"
            else (lambda name=name: lmviz_seconds(trainings[name])) for name in order}
    warm = {name: lambda name=name: untimed_warmup(name) for name in order}
    errors: dict[str, str] = {}
    for name, run in warm.items():
        try:
            synced(where, run)
        except RuntimeError as err:  # e.g. an op without a bf16 kernel on this device
            errors[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    ms: dict[str, list[float]] = {name: [] for name in runs if name not in errors}
    for _ in range(repeats):  # interleaved: lmviz, plain, bf16, eager, lmviz, plain, ...
        for name in ms:
            ms[name].append(1000 * synced(where, runs[name]) / steps)
    med = {name: statistics.median(values) if values else math.nan for name, values in ms.items()}
    lm, pl, bf = med.get("lmviz", math.nan), med.get("plain", math.nan), med.get("bf16", math.nan)
    eg = med.get("eager", math.nan)
    pairs = [p / m for p, m in zip(ms.get("plain", []), ms.get("lmviz", []), strict=False)]
    tokens = shape["batch"] * shape["context"]
    return {
        **shape, "vocab": vocab, "parameters": lmviz_params, "steps": steps, "repeats": repeats,
        "lmviz_ms": lm, "plain_ms": pl, "bf16_ms": bf, "eager_ms": eg,
        "graphed": lmviz.graphed, "graph_failure": lmviz.graph_failure,
        "bf16_graphed": bf16.graphed, "bf16_graph_failure": bf16.graph_failure,
        "lmviz_ms_all": ms.get("lmviz", []), "plain_ms_all": ms.get("plain", []),
        "bf16_ms_all": ms.get("bf16", []), "eager_ms_all": ms.get("eager", []),
        "ratio": pl / lm, "pair_ratio": statistics.median(pairs) if pairs else math.nan,
        "bf16_speedup": lm / bf, "eager_ratio": pl / eg, "lmviz_tokens_per_s": tokens / lm * 1000,
        "plain_tokens_per_s": tokens / pl * 1000, "errors": errors,
    }


# ---------------------------------------------------------------------------------------------
# Part 2: time to quality through the Training page's call


def ttq_views(quick: bool) -> list[tuple[str, View]]:
    if quick:
        return [("lstm (default)", View(model="lstm")),
                (f"gpt ({QUICK_TTQ_GPT_STEPS} steps)", View(model="gpt", steps=QUICK_TTQ_GPT_STEPS))]
    return [("lstm (default)", View(model="lstm")), ("gpt (default)", View(model="gpt")),
            ("lstm hidden 512", View(model="lstm", hidden_size=512)),
            ("gpt 4 layers", View(model="gpt", layers=GPT_LAYERS, context=GPT_CONTEXT))]


def watch(text: str, tokenizer, model: ModelConfig, train: TrainConfig, target: float) -> dict:
    """Submit like the Training page, watch the events like its live view, stop at the target."""
    store = RunStore(threading.Semaphore(APP_PARALLEL), shipped=None)  # fresh: nothing cached
    started = time.perf_counter()
    job = store.submit(text, "story", tokenizer, model, train)
    seen, crossed, last_val = 0, None, math.nan
    for events in job.looks():  # the live view's pace: at most every LOOK_EVERY_SECONDS
        for event in events[seen:]:
            if event.val_loss is None:
                continue
            last_val = event.val_loss
            if event.val_loss <= target:
                crossed = {"seconds": time.perf_counter() - started, "step": event.step,
                           "train_seconds": event.seconds, "val_loss": event.val_loss}
                job.cancel.set()
                break
        seen = len(events)
        if crossed is not None:
            break
    while not job.done:  # let the worker stop (at its next step) before the next measurement
        job.wait(1.0)
    return {"crossed": crossed, "last_val_loss": last_val, "error": job.error,
            "steps_run": job.events[-1].step if job.events else 0}


def bench_ttq(text: str, label: str, view: View, device: str, eval_every: int, repeats: int) -> dict:
    tokenizer, model, train = configs(view, device=device)
    app_eval_every = train.eval_every
    train = replace(train, eval_every=eval_every or app_eval_every)
    probe = Training(text, "story", tokenizer, model, replace(train, device="cpu"))
    target = TARGET_FRACTION * probe.unigram_entropy
    runs = [watch(text, tokenizer, model, replace(train, seed=seed), target) for seed in range(repeats)]
    crossed = [r["crossed"] for r in runs]
    med = lambda key: statistics.median(c[key] if c else math.inf for c in crossed)  # noqa: E731
    return {
        "label": label, "family": model.family, "hidden": model.hidden_size, "layers": model.layers,
        "context": model.context, "batch": train.batch_size, "steps": train.steps,
        "eval_every": train.eval_every, "app_eval_every": app_eval_every,
        "log_every": train.log_every, "sample_tokens": train.sample_tokens,
        "parameters": count_parameters(build_model(probe.model_config)),
        "unigram_entropy": probe.unigram_entropy, "target": target,
        "reached": sum(c is not None for c in crossed), "seeds": repeats,
        "seconds": med("seconds"), "train_seconds": med("train_seconds"), "at_step": med("step"),
        "val_loss": statistics.median(c["val_loss"] for c in crossed if c) if any(crossed) else math.nan,
        "runs": runs,
    }


def warm_ttq(text: str, views: list[tuple[str, View]], device: str) -> None:
    """One short untimed training per model through the same path (CUDA context, handles)."""
    for _, view in views:
        tokenizer, model, train = configs(replace(view, steps=30), device=device)
        watch(text, tokenizer, model, train, target=-math.inf)


# ---------------------------------------------------------------------------------------------
# Output


def device_info(device: torch.device) -> dict:
    info = {"device": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "cudnn_benchmark": torch.backends.cudnn.benchmark}
    rnn = getattr(torch.backends.cudnn, "rnn", None)  # newer torch: per-backend fp32 precision
    if rnn is not None:
        info["cudnn_rnn_fp32_precision"] = rnn.fp32_precision
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    else:
        info["name"] = "cpu"
    return info


def shape_label(r: dict) -> str:
    if r["family"] == "gpt":
        return f"gpt {r['hidden']}×{r['layers']}"
    return f"lstm {r['hidden']}"


def info_line(info: dict) -> str:
    return (f"{info['name']} ({info['device']}), torch {info['torch']}, {info['threads']} CPU "
            f"thread(s); TF32: matmul {info['tf32_matmul']}, cuDNN {info['tf32_cudnn']} "
            f"(float32 matmul precision '{info['float32_matmul_precision']}'"
            + (f", cuDNN RNN fp32 '{info['cudnn_rnn_fp32_precision']}'" if "cudnn_rnn_fp32_precision" in info else "")
            + ")" + (f"; CUDA {info['cuda']}, cuDNN {info['cudnn']}" if info["device"] == "cuda" else ""))


SHAPE_HEAD = (f"{'shape':<13} {'batch':>5} {'ctx':>4} {'params':>9} {'steps':>5} {'lmviz ms':>9} "
              f"{'plain ms':>9} {'ratio':>6} {'pair':>6} {'bf16 ms':>8} {'bf16 ×':>6} "
              f"{'eager ms':>8} {'eager r':>7} {'lmviz tok/s':>12}  verdict")
SHAPE_KEY = ("ratio = plain ms/step ÷ lmviz ms/step (>= 1.0: lmviz at least as fast); pair = median "
             "per-repetition ratio; bf16 × = lmviz fp32 ms ÷ lmviz bf16 ms (> 1.0: bf16 helps); "
             "eager = lmviz without CUDA graphs (LMVIZ_CUDA_GRAPHS=0), eager r = plain ÷ eager")
TTQ_HEAD = (f"{'model':<17} {'params':>9} {'batch':>5} {'ctx':>4} {'eval':>4} {'target':>6} "
            f"{'reached':>7} {'at step':>7} {'to target s':>11} {'train s':>7} {'val':>6}")
TTQ_KEY = ("eval* = the app's eval_every (steps // 10); to target s = submit → the watcher holds "
           "the crossing event (prep, init, steps, evaluations and samples included); train s = "
           "the event's own clock")


def shape_lines(r: dict) -> list[str]:
    verdict = "ok" if r["ratio"] >= 1.0 else "BELOW 1.0"
    return [f"{shape_label(r):<13} {r['batch']:>5} {r['context']:>4} {r['parameters']:>9,} "
            f"{r['steps']:>5} {cell(r['lmviz_ms'], 9, 2)} {cell(r['plain_ms'], 9, 2)} "
            f"{cell(r['ratio'], 6, 3)} {cell(r['pair_ratio'], 6, 3)} {cell(r['bf16_ms'], 8, 2)} "
            f"{cell(r['bf16_speedup'], 6, 2)} {cell(r['eager_ms'], 8, 2)} {cell(r['eager_ratio'], 7, 3)} "
            f"{cell(r['lmviz_tokens_per_s'], 12, 0)}  {verdict}",
            *(f"    {name} failed: {error}" for name, error in r["errors"].items())]


def ttq_lines(s: dict) -> list[str]:
    eval_label = f"{s['eval_every']}" + ("*" if s["eval_every"] == s["app_eval_every"] else "")
    if math.isfinite(s["seconds"]):
        when = (f"{s['at_step']:>7.0f} {s['seconds']:>11.2f} {cell(s['train_seconds'], 7, 2)} "
                f"{cell(s['val_loss'], 6, 3)}")
    else:
        last = statistics.median(r["last_val_loss"] for r in s["runs"])
        when = f"{'not reached in ' + str(s['steps']) + ' steps':>27} {'':>7} {cell(last, 6, 3)}"
    lines = [f"{s['label']:<17} {s['parameters']:>9,} {s['batch']:>5} {s['context']:>4} "
             f"{eval_label:>4} {s['target']:>6.3f} {s['reached']:>3}/{s['seeds']:<3} {when}",
             *(f"    failed: {r['error']}" for r in s["runs"] if r["error"])]
    if s["label"] == "lstm (default)" and s["eval_every"] == s["app_eval_every"]:
        took = f"{s['seconds']:.2f} s" if math.isfinite(s["seconds"]) else "not reached"
        goal = f"<= {LSTM_TARGET_SECONDS:.0f} s on the H100"
        judged = ("met" if s["seconds"] <= LSTM_TARGET_SECONDS else "NOT met") if s["device"] == "cuda" else None
        lines.append(f"    default LSTM to target through the page's call: {took} (target {goal}"
                     + (f": {judged})" if judged else "; this is not a GPU)"))
    return lines


class Report:
    """Prints each figure as soon as it is measured, flushed, so a crash or a time limit later
    keeps what came before: a table, or with --json one JSON object per line ("info", then a
    "shape" or "ttq" per measurement, an "error" per failed one, and "done")."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.heads_shown: set[str] = set()

    def emit(self, kind: str, record: dict, lines: list[str], head: tuple[str, ...] = ()) -> None:
        if self.as_json:
            print(json.dumps({"kind": kind, **finite(record)}), flush=True)
            return
        if head and head[0] not in self.heads_shown:
            self.heads_shown.add(head[0])
            print("", *head, "-" * len(head[-1]), sep="\n")
        print("\n".join(lines), flush=True)

    def measured(self, kind: str, what: str, measure) -> None:
        """One measurement; a failure is reported and the next one still runs."""
        try:
            record = measure()
        except Exception as err:  # one failure must not lose the other figures
            message = f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
            self.emit("error", {"what": what, "error": message}, [f"{what} FAILED: {message}"])
            return
        if kind == "warmup":
            return
        if kind == "shape":
            heading = (f"ms per training step, char tokens of 'story'; medians of {record['repeats']}; "
                       f"lmviz log_every {APP_LOG_EVERY}")
            self.emit(kind, record, shape_lines(record), (heading, SHAPE_HEAD))
        else:
            heading = (f"time to {TARGET_FRACTION:.0%} of the unigram entropy on 'story' through "
                       f"RunStore.submit (the Training page's call); medians of {record['seeds']} seed(s)")
            self.emit(kind, record, ttq_lines(record), (heading, TTQ_HEAD))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (cuda if present), cuda or cpu")
    parser.add_argument("--quick", action="store_true", help="2 shapes, 3 steps, 1 seed: a smoke run")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line, each printed as soon as it is measured")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions and seeds")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per repetition")
    parser.add_argument("--gpt-batch", type=int, nargs="+", default=[64])
    parser.add_argument("--eval-every", type=int, nargs="+", default=[0, 25],
                        help="time to quality: validation every N steps (0: the app's)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LMVIZ_TORCH_THREADS", "1")),
                        help="torch CPU threads (the app's: LMVIZ_TORCH_THREADS, default 1)")
    parser.add_argument("--parts", nargs="+", choices=["steps", "ttq"], default=["steps", "ttq"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    repeats = 1 if args.quick else args.repeats
    steps = 3 if args.quick else args.steps
    warmup = 2 if args.quick else max(20, steps // 5)
    eval_everies = [0] if args.quick else args.eval_every
    text = load_corpus("story")
    started = time.perf_counter()
    report = Report(args.json)
    info = device_info(device)
    report.emit("info", {**info, "command": " ".join(sys.argv), "repeats": repeats,
                         "log_every": APP_LOG_EVERY}, [info_line(info)])
    if "steps" in args.parts:
        for shape in shapes(args.quick, args.gpt_batch):
            report.measured("shape", f"{shape_label(shape)} batch {shape['batch']}",
                            lambda shape=shape: bench_shape(text, shape, steps, warmup, repeats, device.type))
        if not args.json:
            print(SHAPE_KEY)
    if "ttq" in args.parts:
        views = ttq_views(args.quick)
        report.measured("warmup", "time-to-quality warm-up", lambda: warm_ttq(text, views, device.type))
        for label, view in views:
            for every in eval_everies:
                report.measured("ttq", f"{label}, eval every {every or 'app'}",
                                lambda label=label, view=view, every=every: {
                                    **bench_ttq(text, label, view, device.type, every, repeats),
                                    "device": device.type})
        if not args.json:
            print(TTQ_KEY)
    seconds = time.perf_counter() - started
    report.emit("done", {"seconds": seconds}, [f"\n({seconds:.0f} s)"])


if __name__ == "__main__":
    main()
