"""Open the app in AppTest: app.py (sidebar and all) around one page."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
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


def plotly_array(value: list | dict) -> np.ndarray:
    """An array of a figure's JSON as the page sent it: a list, or Plotly's typed-array form
    {"dtype": "f8", "bdata": <base64>} for numbers that came from numpy."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)
