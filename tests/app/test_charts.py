"""Every chart on every page is drawn without Plotly's toolbar: a touch screen shows it at all
times, over the chart's title and legend."""

from __future__ import annotations

import json

import pytest

from tests.app.apptest import open_app_page

PAGES = [None, "pages/tokenization.py", "pages/embeddings.py", "pages/lstm.py", "pages/attention.py",
         "pages/compare.py", "pages/sampling.py", "pages/training.py"]


@pytest.mark.parametrize("page", PAGES)
def test_no_chart_shows_plotly_s_toolbar(page: str | None) -> None:
    at = open_app_page(page)
    charts = at.get("plotly_chart")
    assert charts, "every page draws a chart"
    assert all(json.loads(chart.proto.config) == {"displayModeBar": False} for chart in charts)
