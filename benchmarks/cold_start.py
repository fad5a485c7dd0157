"""Cold start: launching `streamlit run app.py` -> health ok -> the home page drawn in Chromium.

What it measures, per repetition (default 3, each with a fresh server process):
  - `health s`: from just before the `python -m streamlit run app.py --server.port <free>
    --server.address 127.0.0.1 --server.headless true` process is spawned until
    /_stcore/health answers "ok" (polled every 20 ms). This is Streamlit's own start-up; the
    app script has not run yet.
  - `home s`: from the same launch until `/` is fully rendered in headless Debian Chromium: the
    e2e harness's `open_app` saw the first script run finish (read off the websocket) with the
    script idle, no lazy skeleton left and every Plotly chart drawn, and the home page's
    learning-curve chart is there (`wait_for_charts(page, 1)`). The first run pays for
    `import torch`, the lmviz modules and loading the shipped default run from assets/runs.
  - `page s` = home s - health s: what the first visitor waits once the server is up.
  - `trained`: progress bars or "Training the …" notices the server sent (must be 0: the
    default run is shipped, so nothing trains).
Chromium is launched once before the first repetition (off the clock); each repetition uses a
new browser context, so the browser cache is empty every time. The OS file cache is not: the
first repetition may read torch from disk, later ones from memory; per-repetition figures are
printed so that shows. The machine is shared with other processes: read the medians, with the
load average printed beside them.

    python -m benchmarks.cold_start [--repeats N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Browser

from benchmarks._appserver import (
    chromium,
    exceptions_shown,
    load_note,
    new_page,
    progress,
    streamlit_server,
    table,
)
from tests.e2e.browser import open_app, wait_for_charts

TIMEOUT_MS = 180_000


def one_start(browser: Browser) -> dict[str, object]:
    page, watch = new_page(browser)  # the context exists before the clock starts
    try:
        with streamlit_server() as server:
            open_app(page, f"{server.url}/", TIMEOUT_MS)
            charts = wait_for_charts(page, 1, TIMEOUT_MS)
            drawn_at = time.monotonic()
            health_s = server.healthy_at - server.launched_at
            home_s = drawn_at - server.launched_at
            exceptions = exceptions_shown(page)
            tracebacks = server.tracebacks()
        return {"health_s": round(health_s, 2), "home_s": round(home_s, 2),
                "page_s": round(home_s - health_s, 2), "charts": charts,
                "trained": watch.trained, "exceptions": exceptions, "server_tracebacks": tracebacks}
    finally:
        page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers to time (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one start")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats

    load_before = load_note()
    runs: list[dict[str, object]] = []
    with chromium() as browser:
        for index in range(repeats):
            progress(f"start {index + 1}/{repeats}")
            runs.append(one_start(browser))
    medians = {key: round(statistics.median(float(r[key]) for r in runs), 2)  # type: ignore[arg-type]
               for key in ("health_s", "home_s", "page_s")}
    result = {"repeats": repeats, "runs": runs, "median": medians,
              "trained": sum(int(r["trained"]) for r in runs),  # type: ignore[call-overload]
              "load_before": load_before, "load_after": load_note()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Cold start of `streamlit run app.py`, {repeats} fresh server(s)")
    rows = [[f"start {i + 1}", r["health_s"], r["home_s"], r["page_s"], r["charts"], r["trained"],
             len(r["exceptions"]) + len(r["server_tracebacks"])]  # type: ignore[arg-type]
            for i, r in enumerate(runs)]
    rows.append(["median", medians["health_s"], medians["home_s"], medians["page_s"], "", "", ""])
    print(table(["", "health s", "home s", "page s", "charts", "trained", "errors"], rows))
    print("\nhealth s: launch -> /_stcore/health ok; home s: launch -> / rendered, chart drawn; "
          "page s: the difference.")
    print("Trainings during start-up: " + (str(result["trained"]) if result["trained"]
                                           else "none (the shipped default run was used)"))
    for i, r in enumerate(runs):
        for text in [*r["exceptions"], *r["server_tracebacks"]]:  # type: ignore[misc]
            print(f"\nERROR in start {i + 1}:\n{text}")
    print(f"\nBefore: {load_before}\nAfter:  {result['load_after']}")


if __name__ == "__main__":
    main()
