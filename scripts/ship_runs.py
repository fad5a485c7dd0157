"""Train the app's default runs with the CLI and save them in assets/runs/<key>.

The app finds a shipped run by its key (a hash of the settings), so a first visit needs no
training. Re-run after changing defaults: `python scripts/ship_runs.py`; after a change to what a
run records (its history, its samples), `python scripts/ship_runs.py --retrain`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # before the lmviz imports

from lmviz.corpora import load_corpus
from lmviz.jobs import SHIPPED_RUNS
from lmviz.presets import View, cli_args, configs, shipped_views
from lmviz.run import TrainConfig, run_key

ROOT = Path(__file__).resolve().parent.parent


def ship(view: View, family: str, retrain: bool = False) -> str:
    """Train one default run with the CLI unless a run with its key is already shipped."""
    key = run_key(load_corpus(view.corpus), *configs(view, family))
    if (SHIPPED_RUNS / key).is_dir() and not retrain:
        print(f"{view.corpus:<10} {family:<4} {key} already shipped")
        return key
    tmp = SHIPPED_RUNS / "_training"
    # with the app's evaluation samples: the Training page shows what the model wrote as it learned
    command = [sys.executable, "-m", "lmviz", "train", *cli_args(view, family),
               "--sample-tokens", str(TrainConfig().sample_tokens), "--out", str(tmp)]
    result = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    target = SHIPPED_RUNS / summary["key"]
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"{view.corpus:<10} {family:<4} {summary['key']} val_loss={summary['val_loss']:.3f} "
          f"bits/char={summary['bits_per_char']:.2f} in {summary['seconds']:.1f} s")
    return summary["key"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrain", action="store_true", help="train runs that are already shipped again")
    retrain = parser.parse_args().retrain
    SHIPPED_RUNS.mkdir(parents=True, exist_ok=True)
    keep = {ship(view, family, retrain) for view in shipped_views() for family in ("lstm", "gpt")}
    for folder in SHIPPED_RUNS.iterdir():
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
