"""Helpers for driving the Streamlit app in Chromium with Playwright.

DOM facts (checked against Streamlit 1.67.0 and Chromium 156):
- `[data-testid="stApp"]` carries `data-test-script-state`: "initial" until the websocket has
  connected, then "running" while the script runs and "notRunning" when it is done.
- A slider is `[data-testid="stSlider"]` with its label in `[data-testid="stWidgetLabel"]`;
  its handle is a visually hidden `input[type="range"]` (no `[role="slider"]`), which takes
  arrow keys once focused. `[data-testid="stSliderThumbValue"]` shows the formatted value.
- A drawn Plotly chart is `[data-testid="stPlotlyChart"]` containing `.js-plotly-plot .main-svg`
  (Plotly loads lazily, so the container can exist before the chart is drawn).
- A moved widget reruns the script after a short debounce (70 ms to over 1 s after the key
  press), so "notRunning" right after an interaction may still be the old run: the init script
  below counts runs so that a wait can ask for a run that started after the interaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}

APP = '[data-testid="stApp"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
SLIDER = '[data-testid="stSlider"]'
PLOTLY_DRAWN = '[data-testid="stPlotlyChart"]:has(.main-svg)'

# Installed with context.add_init_script: counts every switch of stApp to "running" in
# window.__stRuns (reset on each full page load).
RUN_COUNTER_JS = """
(() => {
  window.__stRuns = 0;
  let last = null;
  const check = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute('data-test-script-state') : null;
    if (state === 'running' && last !== 'running') window.__stRuns += 1;
    last = state;
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-test-script-state'],
  });
})();
"""

_IDLE_AFTER_JS = """
(since) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  return window.__stRuns === undefined || window.__stRuns > since;
}
"""


def run_count(page: Page) -> int:
    """Script runs started since the page loaded (0 without the init script)."""
    return int(page.evaluate("() => window.__stRuns || 0"))


def wait_idle(
    page: Page, timeout_ms: int = 60_000, *, since: int | None = None, rerun_ms: int = 1_000
) -> None:
    """Wait until the script has finished running.

    since: a `run_count(page)` taken before an interaction; then wait for a run that started
    after it to finish (fails after timeout_ms if none starts). Without it: give a rerun
    `rerun_ms` to start, then wait for "notRunning" ("initial" means not connected yet).
    """
    if since is None:
        try:
            page.wait_for_selector(RUNNING, timeout=rerun_ms)
        except PlaywrightTimeoutError:
            pass  # no rerun started (or it was already over): fine
        page.wait_for_selector(IDLE, timeout=timeout_ms)
        return
    page.wait_for_function(_IDLE_AFTER_JS, arg=since, timeout=timeout_ms, polling=50)


@contextmanager
def expect_rerun(page: Page, timeout_ms: int = 60_000) -> Iterator[None]:
    """`with expect_rerun(page): page.click(...)` waits for the rerun the action causes."""
    since = run_count(page)
    yield
    wait_idle(page, timeout_ms, since=since)


def open_app(page: Page, url: str, timeout_ms: int = 120_000) -> None:
    """Load a URL and wait for its first script run to finish."""
    page.goto(url)
    wait_idle(page, timeout_ms)


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
    """Focus a slider's handle, press `key` `presses` times, wait for the rerun.

    Returns the value text shown on the handle afterwards (e.g. "1.30").
    """
    handle = find_slider(page, label).locator('input[type="range"]').nth(thumb)
    before = handle.input_value()
    since = run_count(page)
    handle.focus()
    for _ in range(presses):
        page.keyboard.press(key)
    if handle.input_value() != before:
        wait_idle(page, timeout_ms, since=since)
    else:  # at the end of the range already: no rerun to wait for
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


def screenshot(page: Page, path: str | Path) -> Path:
    """Full-page PNG; creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
