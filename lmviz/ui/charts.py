"""How a page draws a Plotly figure: across its column, without Plotly's toolbar."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# Plotly's toolbar shows at all times on a touch screen, over the chart's title and legend (a
# phone hid "1 · raw score q·k"); dragging still zooms, a double tap resets, and Streamlit's own
# fullscreen button stays.
CHART_CONFIG = {"displayModeBar": False}


def chart(figure: go.Figure, key: str | None = None, where: DeltaGenerator | None = None) -> None:
    """Draw `figure` across its column (`where`: a column or container; the page by default)."""
    (where or st).plotly_chart(figure, width="stretch", config=CHART_CONFIG, key=key)
