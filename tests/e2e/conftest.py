"""Fixtures for real-browser tests: `streamlit run` on loopback, driven by Debian Chromium.

APP_PATH (env, default "app.py", relative to the repo root) picks the script to serve;
CHROMIUM_PATH (env, default /usr/bin/chromium) picks the browser.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM_ARGS, CHROMIUM_PATH, VIEWPORT, screenshot, track_runs

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = 60
LOG_TAIL_CHARS = 6_000

_server_log: Path | None = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an `e2e` test."""
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """On failure: attach what the page showed (text, screenshot path) and the server log."""
    report = yield
    if not report.failed:
        return report
    page = getattr(item, "funcargs", {}).get("page")
    if page is not None and not page.is_closed():
        report.sections.append(("app at failure", _page_state(page, item.name)))
    if "app_server" in getattr(item, "fixturenames", ()):
        report.sections.append(("streamlit server log (tail)", _log_tail()))
    return report


def _page_state(page, name: str) -> str:
    try:
        stem = re.sub(r"\W+", "_", name)
        shot = screenshot(page, Path(tempfile.gettempdir()) / "lmviz-e2e-failures" / f"{stem}.png")
        text = page.locator('[data-testid="stApp"]').inner_text(timeout=5_000)
        return f"{page.url}\nscreenshot: {shot}\n{text[-LOG_TAIL_CHARS:]}"
    except Exception as err:  # the page may be gone or hung: report that instead
        return f"(could not read the page: {err})"


# uvicorn's access lines ("GET /static/...", websocket open/close) drown the errors
_NOISE = re.compile(r'"(GET|HEAD|POST) /|"WebSocket /| connection (open|closed)$')


def _log_tail() -> str:
    if _server_log is None or not _server_log.exists():
        return "(no server log)"
    lines = _server_log.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if not _NOISE.search(line))[-LOG_TAIL_CHARS:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Serve APP_PATH with `python -m streamlit run`; yield its base URL."""
    global _server_log
    app_path = os.environ.get("APP_PATH", "app.py")
    if not (REPO_ROOT / app_path).exists():
        pytest.fail(f"{app_path} not found under {REPO_ROOT}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", app_path,
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log_dir = Path(tempfile.mkdtemp(prefix="lmviz-e2e-"))
    _server_log = log_dir / "streamlit.log"
    with _server_log.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{_log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {STARTUP_TIMEOUT_S} s:\n{_log_tail()}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", CHROMIUM_PATH)
    if not Path(executable).exists():
        pytest.fail(f"{executable} not found: apt-get install -y chromium (or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh context and page (1400x900) whose script runs are tracked (see browser.py)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    track_runs(page)
    yield page
    context.close()
