"""BPE training time (Hugging Face `tokenizers`, the app's pre-tokenizer) on `story` and on
text without a space (letters only: a pasted page of Chinese or a base64 blob is one run), where
time grows with the square of a pre-token's length unless runs are cut (lmviz.tokenizers cuts
them every 64 characters). Medians of 3; `--uncut` times the old, uncut pattern beside it (up to
80 KB: 2 MB uncut takes about 15 minutes).

    python benchmarks/bpe.py [--quick] [--json] [--uncut]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tokenizers import Regex, pre_tokenizers

from lmviz import tokenizers
from lmviz.corpora import load_corpus

UNCUT = r" ?\w+| ?[^\s\w]+|\s+"


def seconds(text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tokenizers.BPETokenizer.train(text, 512)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--uncut", action="store_true")
    args = parser.parse_args()
    story = load_corpus("story")
    letters = "".join(ch for ch in story if ch.isalpha())
    sizes = (20_000,) if args.quick else (80_000, 2_000_000)
    repeats = 1 if args.quick else 3
    rows = [{"text": "story", "chars": len(story), "seconds": seconds(story, repeats)}]
    rows += [{"text": "letters", "chars": n, "seconds": seconds((letters * 60)[:n], repeats)} for n in sizes]
    if args.uncut:
        cut = tokenizers._pre_tokenizer
        tokenizers._pre_tokenizer = lambda: pre_tokenizers.Split(Regex(UNCUT), behavior="isolated")
        rows += [{"text": "letters, uncut", "chars": n, "seconds": seconds((letters * 60)[:n], repeats)}
                 for n in sizes if n <= 80_000]
        tokenizers._pre_tokenizer = cut
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['text']:<16} {row['chars']:>10,} chars  {row['seconds']:7.2f} s")


if __name__ == "__main__":
    main()
