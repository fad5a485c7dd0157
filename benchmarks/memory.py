"""Server memory: RSS of `streamlit run app.py` (and any children) as browser sessions open pages.

What it measures: one server (the same command as cold_start), then VmRSS summed over the
streamlit process and all its descendants, read from /proc/<pid>/status, at each stage:
  1. started: /_stcore/health ok and 1 s idle; no session yet, so the app script (torch,
     lmviz) has not been imported.
  2. 1 session: one browser context opened `/` and then clicked through the sidebar to every
     page (/ and every lesson page in the navigation's order), waiting on
     each until the harness's `wait_idle` saw its run finish and its charts drawn. Sidebar
     clicks keep one Streamlit session (a `goto` per page would open a new one each time).
  3. 5 sessions: four more contexts did the same; all five stay connected.
  4. closed: all five contexts closed, then 5 s idle (Streamlit may keep a disconnected
     session's state a while; caches of runs, traces and generations stay by design).
`peak MB` is VmHWM (the high-water mark of RSS) summed the same way: what a memory limit
would have had to allow so far. No training happens (the default runs are shipped; `trained`
counts progress bars or training notices the server sent, and must be 0).

How to read it: Streamlit Community Cloud gives an app roughly 690 MB to 2.7 GB, and the
container counts more than this process's RSS (file cache, the Python of the build), so
compare the peak with the low end, 690 MB, for a safe margin. Other processes share the
machine; that changes timings, not these sizes.

    python -m benchmarks.memory [--sessions N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Browser, Page

from benchmarks._appserver import (
    PAGES,
    Server,
    Watch,
    chromium,
    exceptions_shown,
    load_note,
    new_page,
    progress,
    streamlit_server,
    table,
)
from tests.e2e.browser import open_app, rerun_requests, wait_for_charts, wait_idle

CLOUD_LOW_MB, CLOUD_HIGH_MB = 690, 2700
TIMEOUT_MS = 180_000


def visit_every_page(page: Page, url: str, pages: list[str]) -> list[str]:
    """Open `/`, then click each page's sidebar link; return the exception texts seen."""
    errors: list[str] = []
    open_app(page, f"{url}/", TIMEOUT_MS)
    for path in pages:
        if path:
            since = rerun_requests(page)
            page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{path}"]').click()
            wait_idle(page, TIMEOUT_MS, since=since)
        if path != "training":  # the training page draws its charts once Train is pressed
            wait_for_charts(page, 1, TIMEOUT_MS)
        errors += [f"/{path}: {text}" for text in exceptions_shown(page)]
    return errors


def stage(server: Server, name: str, sessions: int, seconds: float) -> dict[str, object]:
    rss, peak = server.rss_mb()
    progress(f"{name}: {rss:.0f} MB")
    return {"stage": name, "sessions": sessions, "rss_mb": round(rss, 1),
            "peak_mb": round(peak, 1), "seconds": round(seconds, 1)}


def measure(browser: Browser, server: Server, sessions: int, pages: list[str]) -> dict[str, object]:
    time.sleep(1.0)
    stages = [stage(server, "started, no session", 0, server.healthy_at - server.launched_at)]
    open_pages: list[tuple[Page, Watch]] = []
    errors: list[str] = []
    for index in range(sessions):
        start = time.monotonic()
        page, watch = new_page(browser)
        open_pages.append((page, watch))
        errors += visit_every_page(page, server.url, pages)
        if index in (0, sessions - 1):
            name = f"{index + 1} session{'s' if index else ''}, every page opened"
            stages.append(stage(server, name, index + 1, time.monotonic() - start))
    trained = sum(watch.trained for _, watch in open_pages)
    for page, _ in open_pages:
        page.context.close()
    time.sleep(5.0)
    stages.append(stage(server, f"{sessions} sessions closed, +5 s", 0, 5.0))
    return {"stages": stages, "trained": trained, "exceptions": errors,
            "server_tracebacks": server.tracebacks()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="concurrent sessions (5)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 sessions, 3 pages")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sessions = 2 if args.quick else args.sessions
    pages = PAGES[:3] if args.quick else PAGES

    load_before = load_note()
    with streamlit_server() as server, chromium() as browser:
        result = measure(browser, server, sessions, pages)
    stages: list[dict[str, float]] = result["stages"]  # type: ignore[assignment]
    peak = max(s["peak_mb"] for s in stages)
    one, many = stages[1]["rss_mb"], stages[-2]["rss_mb"]
    per_session = (many - one) / (sessions - 1) if sessions > 1 else 0.0
    result.update({"sessions": sessions, "pages": [f"/{p}" for p in pages],
                   "per_extra_session_mb": round(per_session, 1), "peak_mb": peak,
                   "cloud_limits_mb": [CLOUD_LOW_MB, CLOUD_HIGH_MB],
                   "load_before": load_before, "load_after": load_note()})
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Server memory (streamlit process tree, VmRSS), pages: {', '.join(result['pages'])}")
    print(table(["stage", "RSS MB", "peak MB", "took s"],
                [[s["stage"], s["rss_mb"], s["peak_mb"], s["seconds"]] for s in stages]))
    print(f"\nEach extra session that opened every page added {per_session:.0f} MB "
          f"(sessions 2..{sessions}).")
    print(f"Peak {peak:.0f} MB = {peak / CLOUD_LOW_MB:.0%} of Community Cloud's low end "
          f"({CLOUD_LOW_MB} MB), {peak / CLOUD_HIGH_MB:.0%} of its high end ({CLOUD_HIGH_MB} MB); "
          f"headroom at the low end: {CLOUD_LOW_MB - peak:.0f} MB (no training was exercised: "
          "live trainings, up to 2 at once, come on top).")
    print("Trainings: " + (str(result["trained"]) if result["trained"] else "none (shipped runs)"))
    for text in [*result["exceptions"], *result["server_tracebacks"]]:  # type: ignore[misc]
        print(f"\nERROR: {text}")
    print(f"\nBefore: {load_before}\nAfter:  {result['load_after']}")


if __name__ == "__main__":
    main()
