"""`python -m lmviz`: corpora, train, trace, sample, tokenize. Output is JSON; errors are one line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence

from lmviz.corpora import CorpusError, list_corpora, load_corpus_or_path
from lmviz.device import DEVICE_CHOICES, DeviceError
from lmviz.models import MODEL_FAMILIES, ModelConfig, ModelConfigError
from lmviz.probes import trace_text
from lmviz.run import DIVERGED, PRECISIONS, RunError, TrainConfig, load_run, save_run
from lmviz.sampling import SamplingConfig, SamplingError, generate
from lmviz.tokenizers import TOKENIZER_KINDS, TokenizerConfig, TokenizerError, train_tokenizer
from lmviz.training import Training, TrainingError

USER_ERRORS = (CorpusError, DeviceError, ModelConfigError, RunError, SamplingError, TokenizerError,
               TrainingError, ValueError, OSError)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 1, no usage dump
        raise SystemExit(f"lmviz: error: {message}")


def _json(obj: object) -> str:
    return json.dumps(obj, allow_nan=False, default=lambda v: None if isinstance(v, float) else str(v))


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def cmd_corpora(args: argparse.Namespace) -> None:
    for info in list_corpora():
        kind = "generated" if info.generated else "shipped"
        print(f"{info.name:<10} {kind:<9} {info.description}")


def train_configs(args: argparse.Namespace) -> tuple[TokenizerConfig, ModelConfig, TrainConfig]:
    """The configs `train` trains with (the app's `presets.cli_args` relies on them)."""
    model = ModelConfig(family=args.model, embed_size=args.embed_size, hidden_size=args.hidden_size,
                        layers=args.layers, heads=args.heads, context=args.context, dropout=args.dropout)
    train = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                        clip=args.clip, eval_every=args.eval_every or max(1, args.steps // 10),
                        log_every=args.log_every or args.eval_every or max(1, args.steps // 10),
                        device=args.device,
                        precision=args.precision, sample_tokens=args.sample_tokens)
    return TokenizerConfig(args.tokenizer, args.vocab_size), model, train


def cli_text(args: argparse.Namespace) -> str:
    """The text `train` trains on: the app's, a generated corpus from its own seed 0 whatever
    --seed (the model's) says (with --seed 3, brackets was another text and its run never the
    app's), else the file's."""
    return load_corpus_or_path(args.corpus)


def cmd_train(args: argparse.Namespace) -> None:
    text = cli_text(args)
    corpus = args.corpus if args.corpus in {c.name for c in list_corpora()} else "file"
    training = Training(text, corpus, *train_configs(args))
    for event in training:
        if event.val_loss is not None or event.outcome:
            print(_json({"step": event.step, "train_loss": _finite(event.train_loss),
                         "val_loss": _finite(event.val_loss), "grad_norm": _finite(event.grad_norm),
                         "lr": event.lr, "tokens_per_second": round(event.tokens_per_second, 1),
                         "seconds": round(event.seconds, 3)}), flush=True)
    run = training.run
    assert run is not None
    if args.out:
        save_run(run, args.out)
    summary = run.summary()
    summary = {k: _finite(v) if isinstance(v, float) else v for k, v in summary.items()}
    summary["out"] = args.out
    print(_json(summary))


def cmd_trace(args: argparse.Namespace) -> None:
    run = load_run(args.dir)
    result = trace_text(run, args.text)
    print(_json(result.to_json()))


def cmd_sample(args: argparse.Namespace) -> None:
    run = load_run(args.dir)
    if not run.usable:  # it would write text from weights that mean nothing, and exit 0
        raise RunError(DIVERGED)
    config = SamplingConfig(args.temperature, args.top_k, args.top_p)
    generation = generate(run.model, run.tokenizer, args.prompt, config, args.max_new_tokens,
                          seed=args.seed, top_n=args.top_n)
    print(_json({"prompt": args.prompt, "text": generation.text, "truncated": generation.truncated,
                 "steps": [s.to_dict() for s in generation.steps]}))


def cmd_tokenize(args: argparse.Namespace) -> None:
    text = load_corpus_or_path(args.corpus)
    tokenizer = train_tokenizer(text, TokenizerConfig(args.tokenizer, args.vocab_size))
    encoding = tokenizer.encode(args.text)
    print(_json({"pieces": encoding.pieces, "ids": encoding.ids,
                 "offsets": [list(o) for o in encoding.offsets], "unknown": encoding.unknown,
                 "vocab_size": tokenizer.vocab_size}))


def positive(kind: type):
    def parse(value: str):
        number = kind(value)
        if not number > 0 or (isinstance(number, float) and not math.isfinite(number)):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {value!r}")
        return number
    parse.__name__ = kind.__name__
    return parse


def within(kind: type, low: int, high: int):
    """An argparse type: a `kind` number from `low` to `high`, said in one line otherwise."""
    def parse(value: str):
        number = kind(value)
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {value!r}")
        return number
    parse.__name__ = kind.__name__
    return parse


MAX_SEED = 2**32 - 1
MAX_NEW_TOKENS = 10_000  # tokens are drawn one forward pass at a time: minutes at most


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m lmviz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    sub.add_parser("corpora", help="list the built-in corpora").set_defaults(func=cmd_corpora)

    train = sub.add_parser("train", help="train a model and print JSON lines")
    train.add_argument("--corpus", default="story", help="built-in corpus name or a UTF-8 file")
    train.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="char")
    train.add_argument("--vocab-size", type=positive(int), default=512)
    train.add_argument("--model", choices=MODEL_FAMILIES, default="lstm")
    train.add_argument("--hidden-size", type=positive(int), default=128)
    train.add_argument("--embed-size", type=positive(int), default=32)
    train.add_argument("--layers", type=positive(int), default=1)
    train.add_argument("--heads", type=positive(int), default=4)
    train.add_argument("--context", type=positive(int), default=64)
    train.add_argument("--batch-size", type=positive(int), default=32)
    train.add_argument("--steps", type=positive(int), default=600)
    train.add_argument("--lr", type=positive(float), default=1e-2)
    train.add_argument("--clip", type=float, default=1.0)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--eval-every", type=positive(int), default=None,
                       help="validate (and print a line) every this many steps (default: steps / 10)")
    train.add_argument("--log-every", type=positive(int), default=None,
                       help="record a progress event in the run's history every this many steps "
                            "(default: at each evaluation)")
    train.add_argument("--seed", type=within(int, 0, MAX_SEED), default=0,
                       help="the model's seed: initial weights, batches, dropout (a built-in corpus is the app's text whatever it is)")
    train.add_argument("--sample-tokens", type=within(int, 0, MAX_NEW_TOKENS), default=0,
                       help="generate this many tokens at each evaluation, kept in the run's history (0: none)")
    train.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    train.add_argument("--precision", choices=PRECISIONS, default="fp32",
                       help="bf16: bfloat16 autocast for the forward pass (a recurrent cell and the "
                            "weights stay fp32)")
    train.add_argument("--out", default=None, help="folder to save the run in")
    train.set_defaults(func=cmd_train)

    trace = sub.add_parser("trace", help="internals of a saved run for one text")
    trace.add_argument("dir")
    trace.add_argument("--text", required=True)
    trace.add_argument("--json", action="store_true", help="print JSON (the only format)")
    trace.set_defaults(func=cmd_trace)

    sample = sub.add_parser("sample", help="generate text from a saved run")
    sample.add_argument("dir")
    sample.add_argument("--prompt", required=True)
    sample.add_argument("--temperature", type=float, default=1.0)
    sample.add_argument("--top-k", type=int, default=0)
    sample.add_argument("--top-p", type=float, default=1.0)
    sample.add_argument("--max-new-tokens", type=within(int, 0, MAX_NEW_TOKENS), default=50)
    sample.add_argument("--seed", type=within(int, 0, MAX_SEED), default=0)
    sample.add_argument("--top-n", type=positive(int), default=10)
    sample.add_argument("--json", action="store_true", help="print JSON (the only format)")
    sample.set_defaults(func=cmd_sample)

    tokenize = sub.add_parser("tokenize", help="tokenize a text with a tokenizer trained on a corpus")
    tokenize.add_argument("--corpus", default="story")
    tokenize.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="char")
    tokenize.add_argument("--vocab-size", type=positive(int), default=512)
    tokenize.add_argument("--text", required=True)
    tokenize.add_argument("--json", action="store_true", help="print JSON (the only format)")
    tokenize.set_defaults(func=cmd_tokenize)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except USER_ERRORS as err:
        print(f"lmviz: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lmviz: interrupted", file=sys.stderr)
        return 130
    return 0
