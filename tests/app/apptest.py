"""Open the app in AppTest: app.py (sidebar and all) around one page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT_S = 180  # covers a first training on a busy 2-core machine


def open_app_page(page: str | None, state: dict | None = None, **params: str) -> AppTest:
    """Run the app on `page` ("pages/x.py", or None for home) with settings given as link
    parameters or, for values a link cannot carry, as session state."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for key, value in params.items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if page is None:
        at.run()
    else:
        at.switch_page(page).run()
    assert not at.exception
    return at
