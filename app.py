"""lmviz: watch small language models think. Entry point and navigation."""

from pathlib import Path

import streamlit as st

from lmviz.ui.lesson import LESSON
from lmviz.ui.sidebar import sidebar
from lmviz.ui.state import configure_torch, init_session, release_page_controls

configure_torch()

st.set_page_config(page_title="lmviz — watch small models think", page_icon=":material/neurology:",
                   layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    *(st.Page(step.path, title=step.title, icon=step.icon, url_path=step.url_path) for step in LESSON),
]

page = st.navigation(PAGES)
st.html(Path(__file__).parent / "assets" / "style.css")  # a stylesheet: takes no room on the page
init_session()
# The sampling page's settings rerun only a fragment of it, which leaves the sidebar as it was:
# that page shows the link to the view itself, next to those settings.
sidebar(share=page.url_path != "sampling")
try:
    page.run()
finally:  # a page that stops early (st.stop) too
    release_page_controls()
