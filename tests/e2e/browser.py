"""Helpers for driving the Streamlit app in Chromium with Playwright.

Facts checked against Streamlit 1.67.0 and Chromium 156 (see the e2e fixtures):
- `[data-testid="stApp"]` has `data-test-script-state`: "initial" until the websocket has
  connected, then "running" / "notRunning". A fast rerun (tens of ms) can go from
  "notRunning" to "notRunning" without "running" ever reaching the DOM, so the DOM alone
  cannot tell whether the rerun an interaction asked for has happened yet.
- Hence `track_runs`: it reads the app's websocket (`/_stcore/stream`) and counts the
  browser's `rerun_script` requests and the server's run starts (`new_session`, which comes
  before the "running" status), `session_status_changed` and `script_finished`. Settled = the
  last request was answered by a run that started after it and has finished (not cut short
  for a rerun), no run is going, and the DOM is done (below), all holding for `stable_ms`.
- Widget code is loaded lazily: until it arrives an element is `[data-testid="stSkeleton"]`.
- A slider is `[data-testid="stSlider"]`, label in `[data-testid="stWidgetLabel"]`; its handle
  is a visually hidden `input[type="range"]` (there is no `[role="slider"]`) that takes arrow
  keys once focused; each key press sends its own rerun request at once (no debounce).
- A drawn Plotly chart is `[data-testid="stPlotlyChart"]` with `.js-plotly-plot .main-svg`
  inside (three `.main-svg` layers per chart); the container exists before Plotly has drawn.
- Streamlit scrolls inside `[data-testid="stMain"]`, not the document.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, WebSocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
SLIDER = '[data-testid="stSlider"]'
PLOTLY_DRAWN = '[data-testid="stPlotlyChart"]:has(.main-svg)'

_DOM_DONE = {"scriptState": "notRunning", "skeletons": 0, "undrawnCharts": 0}
_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN

# DOM side of "settled": script not running, no lazy skeleton left, every Plotly chart drawn.
_DOM_SETTLED_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const charts = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'));
  return {
    scriptState: app ? app.getAttribute('data-test-script-state') : null,
    skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
    undrawnCharts: charts.filter(chart => !chart.querySelector('.main-svg')).length,
  };
}
"""


@dataclass
class RunTracker:
    """Script-run bookkeeping read from one page's Streamlit websocket(s)."""

    events: int = 0  # sequence number of the last event seen
    requests: int = 0  # rerun requests sent by the browser
    last_request: int = 0  # sequence number of the last request
    last_request_at: float = 0.0  # time.monotonic() of the last request
    starts: int = 0  # script runs started by the server (`new_session`)
    last_start: int = 0
    last_end: int = 0  # sequence number of the last `script_finished`
    end_status: int | None = None  # its ScriptFinishedStatus
    running: bool = False

    def attach(self, ws: WebSocket) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framesent", self._on_sent)
            ws.on("framereceived", self._on_received)

    def _on_sent(self, payload: bytes | str) -> None:
        try:
            msg = BackMsg.FromString(payload)
            # run_every fragments ask for reruns by themselves: not an interaction to wait for
            if msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.is_auto_rerun:
                self.events += 1
                self.requests += 1
                self.last_request = self.events
                self.last_request_at = time.monotonic()
        except Exception:  # not ours to fail on: a text frame, a newer protocol
            pass

    def _on_received(self, payload: bytes | str) -> None:
        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:
            return
        kind = msg.WhichOneof("type")
        self.events += 1
        if kind == "new_session":  # comes before the status saying "running"
            self.starts += 1
            self.last_start = self.events
            self.running = True
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "script_finished":
            self.last_end = self.events
            self.end_status = msg.script_finished

    def settled(self, since: int | None) -> bool:
        """The last request was answered by a run that has ended, not cut short for a rerun.

        With `since` (a `requests` count) there must also be a request after it.
        """
        if since is not None and self.requests <= since:
            return False
        return (
            self.last_end > self.last_start > self.last_request
            and self.end_status != _EARLY_FOR_RERUN
            and not self.running
        )


_trackers: weakref.WeakKeyDictionary[Page, RunTracker] = weakref.WeakKeyDictionary()


def track_runs(page: Page) -> RunTracker:
    """Start counting script runs; call before the page's first `goto`."""
    tracker = _trackers.get(page)
    if tracker is None:
        tracker = _trackers[page] = RunTracker()
        page.on("websocket", tracker.attach)
    return tracker


def rerun_requests(page: Page) -> int:
    """Rerun requests the page has sent so far: a `since` for `wait_idle`."""
    return track_runs(page).requests


def wait_idle(
    page: Page, timeout_ms: int = 60_000, *, since: int | None = None, stable_ms: int = 250
) -> None:
    """Wait until the app has settled (see the module docstring) for `stable_ms`.

    since: `rerun_requests(page)` taken before an interaction; then the interaction must have
    sent a rerun request, and its run must be over. Never a fixed sleep: it polls.
    """
    tracker = track_runs(page)
    deadline = time.monotonic() + timeout_ms / 1000
    stable_from = None
    while True:
        now = time.monotonic()
        dom = page.evaluate(_DOM_SETTLED_JS)
        ok = tracker.settled(since) and dom == _DOM_DONE
        if not ok:
            stable_from = None
        elif stable_from is None:
            stable_from = now
        elif now - stable_from >= stable_ms / 1000:
            return
        if now > deadline:
            raise AssertionError(f"app not settled after {timeout_ms} ms: {tracker}, {dom}")
        page.wait_for_timeout(25)  # lets Playwright deliver websocket events


@contextmanager
def expect_rerun(page: Page, timeout_ms: int = 60_000) -> Iterator[None]:
    """`with expect_rerun(page): page.click(...)`: wait for the rerun the action causes."""
    since = rerun_requests(page)
    yield
    wait_idle(page, timeout_ms, since=since)


def go_to(page: Page, title: str, timeout_ms: int = 180_000) -> None:
    """Click the page titled `title` (a part of it: "Sampling" for "6 · Sampling") in the
    sidebar's navigation and wait for its run, which may train a model first."""
    with expect_rerun(page, timeout_ms):
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()


def open_app(page: Page, url: str, timeout_ms: int = 120_000) -> None:
    """Load a URL and wait until its first script run is over and drawn."""
    since = rerun_requests(page)
    page.goto(url)
    wait_idle(page, timeout_ms, since=since)


def assert_no_exception(page: Page) -> None:
    """Fail with the exception text if the app shows an `st.exception` box."""
    boxes = page.locator(EXCEPTION)
    count = boxes.count()
    if count:
        texts = "\n---\n".join(boxes.nth(i).inner_text() for i in range(count))
        print(f"Streamlit shows {count} exception(s):\n{texts}")
        raise AssertionError(f"app shows {count} exception(s):\n{texts}")


def find_slider(page: Page, label: str) -> Locator:
    """The one `stSlider` whose label is `label` (exact text first, then substring)."""
    labels = page.get_by_test_id("stWidgetLabel")
    slider = page.locator(SLIDER).filter(has=labels.get_by_text(label, exact=True))
    if slider.count() == 0:
        slider = page.locator(SLIDER).filter(has=labels.filter(has_text=label))
    if slider.count() != 1:
        found = page.locator(f"{SLIDER} [data-testid='stWidgetLabel']").all_inner_texts()
        raise AssertionError(f"{slider.count()} sliders match {label!r}; sliders: {found}")
    return slider


def move_slider(
    page: Page,
    label: str,
    presses: int,
    key: str = "ArrowRight",
    *,
    thumb: int = 0,
    timeout_ms: int = 60_000,
) -> str:
    """Focus a slider's handle and press `key` `presses` times, each after the last rerun.

    One key at a time: every press sends a rerun request, and when several are in flight the
    websocket cannot tell which request a run answers (a busy server showed that). "End" and
    "Home" jump to the ends in one press. Returns the value text shown (e.g. "1.30").
    """
    handle = find_slider(page, label).locator('input[type="range"]').nth(thumb)
    handle.focus()
    for _ in range(presses):
        before = handle.input_value()
        since = rerun_requests(page)
        page.keyboard.press(key)
        if handle.input_value() == before:  # at the end of the range: no rerun comes
            break
        wait_idle(page, timeout_ms, since=since, stable_ms=0)
        handle = find_slider(page, label).locator('input[type="range"]').nth(thumb)
        handle.focus()  # a rerun may have replaced the element
    wait_idle(page, timeout_ms)
    handle = find_slider(page, label).locator('input[type="range"]').nth(thumb)
    return handle.get_attribute("aria-valuetext") or handle.input_value()


def count_charts(page: Page) -> int:
    """Number of Plotly charts drawn right now."""
    return page.locator(PLOTLY_DRAWN).count()


def wait_for_charts(page: Page, minimum: int = 1, timeout_ms: int = 30_000) -> int:
    """Wait until at least `minimum` Plotly charts are drawn; return how many are."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n",
        arg=[PLOTLY_DRAWN, minimum],
        timeout=timeout_ms,
    )
    return count_charts(page)


# Tallest overflow hidden in any scrolling element (stMain, the sidebar), in CSS pixels.
_HIDDEN_HEIGHT_JS = """
() => Math.max(0, ...Array.from(document.querySelectorAll('*'))
  .filter(e => /(auto|scroll)/.test(getComputedStyle(e).overflowY))
  .map(e => e.scrollHeight - e.clientHeight))
"""
_TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def screenshot(page: Page, path: str | Path, max_height: int = 16_000) -> Path:
    """Full-page PNG (parent folder created).

    Playwright's full_page alone captures one viewport, because Streamlit scrolls inside
    stMain: grow the viewport to the content for the shot, then restore it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size or VIEWPORT
    height = min(viewport["height"] + page.evaluate(_HIDDEN_HEIGHT_JS), max_height)
    try:
        if height > viewport["height"]:
            page.set_viewport_size({"width": viewport["width"], "height": height})
            page.evaluate(_TWO_FRAMES_JS)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return path
