"""Shared by the app-level benchmarks (app_latency, cold_start, memory): a timed `streamlit run`
server, its memory from /proc, a Chromium launched like the e2e tests, a watcher that sees any
training start, and table/stat helpers. The browser logic itself (rerun tracking, waiting until
the app has settled, sliders) is the e2e harness in tests/e2e/browser.py, imported, not copied.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, WebSocket, sync_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from lmviz.ui.lesson import LESSON
from tests.e2e.browser import CHROMIUM_ARGS, CHROMIUM_PATH, EXCEPTION, VIEWPORT, track_runs
from tests.e2e.conftest import REPO_ROOT, _free_port, _healthy, _stop

STARTUP_TIMEOUT_S = 120
PAGES = ["", *(step.url_path for step in LESSON)]  # home, then every lesson page in order


@dataclass
class Server:
    """A `streamlit run app.py` process; times are time.monotonic()."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    launched_at: float
    healthy_at: float = 0.0

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB summed over the server process and all its descendants."""
        return _tree_memory_mb(self.process.pid)

    def tracebacks(self) -> list[str]:
        """Tracebacks the server logged (an exception in a page lands here and in the page)."""
        found: list[list[str]] = []
        inside = False
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("Traceback (most recent call last)"):
                found.append([line])
                inside = True
            elif inside:
                found[-1].append(line)
                inside = line[:1].isspace()  # the unindented "SomeError: ..." line ends it
        return ["\n".join(lines) for lines in found]


@contextmanager
def streamlit_server() -> Iterator[Server]:
    """Launch the app (the command a deployment runs; .streamlit/config.toml adds the rest),
    wait until /_stcore/health says ok (polled every 20 ms), stop it on exit."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
    log = Path(tempfile.mkdtemp(prefix="lmviz-bench-")) / "streamlit.log"
    with log.open("wb") as out:
        launched = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(url, process, log, launched)
    try:
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() - launched > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        server.healthy_at = time.monotonic()
        yield server
    finally:
        _stop(process)


def _tree_memory_mb(root: int) -> tuple[float, float]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    rss = hwm = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields.get("VmRSS", "0 kB").split()[0])
        hwm += int(fields.get("VmHWM", "0 kB").split()[0])
    return rss / 1024, hwm / 1024


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium with the e2e tests' arguments."""
    executable = os.environ.get("CHROMIUM_PATH", CHROMIUM_PATH)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """Counts what the server sends when a page trains a model: a progress bar, or a
    "Training the …" notice (lmviz.ui.train_view.live_training). Read off the websocket, so
    a bar that appears and vanishes between two DOM polls is still counted. Also notes when the
    last script run's start and end reached Python (Playwright delivers events while a call
    waits, so within one wait_idle poll, ~25 ms)."""

    progress_bars: int = 0
    notices: list[str] = field(default_factory=list)
    started_at: float = 0.0  # time.monotonic() when the last run's `new_session` was delivered
    finished_at: float = 0.0  # ... and its `script_finished`

    def attach(self, ws: WebSocket) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framereceived", self._on_received)

    def _on_received(self, payload: bytes | str) -> None:
        try:
            msg = ForwardMsg.FromString(payload)  # type: ignore[arg-type]
        except Exception:
            return
        if msg.WhichOneof("type") == "new_session":
            self.started_at = time.monotonic()
        elif msg.WhichOneof("type") == "script_finished":
            self.finished_at = time.monotonic()
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "progress":
            self.progress_bars += 1
        elif kind == "alert" and "Training the" in element.alert.body:
            self.notices.append(element.alert.body)

    @property
    def trained(self) -> int:
        return self.progress_bars + len(self.notices)


def new_page(browser: Browser) -> tuple[Page, Watch]:
    """A fresh context and page like the e2e `page` fixture, runs tracked, trainings watched."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(120_000)
    page = context.new_page()
    track_runs(page)
    watch = Watch()
    page.on("websocket", watch.attach)
    return page, watch


def exceptions_shown(page: Page) -> list[str]:
    boxes = page.locator(EXCEPTION)
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return (f"machine shared with other processes: load average {one:.2f} (1 min), "
            f"{five:.2f} (5 min) on {os.cpu_count()} CPU cores")


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, p90 (nearest rank) and max."""
    ordered = sorted(values)
    p90 = ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]
    return {"median": statistics.median(ordered), "p90": p90, "max": ordered[-1], "n": len(ordered)}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
