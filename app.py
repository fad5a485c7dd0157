"""lmviz: watch small language models think. Entry point and navigation."""

import streamlit as st

from lmviz.ui.state import configure_torch, init_session, sidebar

configure_torch()

st.set_page_config(page_title="lmviz — watch small models think", page_icon=":material/neurology:",
                   layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="", default=True),
    st.Page("pages/tokenization.py", title="1 · Tokenization", icon=":material/segment:",
            url_path="tokenization"),
    st.Page("pages/embeddings.py", title="2 · Embeddings", icon=":material/scatter_plot:",
            url_path="embeddings"),
    st.Page("pages/lstm.py", title="3 · LSTM gates", icon=":material/memory:", url_path="lstm"),
    st.Page("pages/attention.py", title="4 · Attention", icon=":material/grid_on:",
            url_path="attention"),
    st.Page("pages/compare.py", title="5 · Side by side", icon=":material/compare:",
            url_path="compare"),
    st.Page("pages/sampling.py", title="6 · Sampling", icon=":material/casino:", url_path="sampling"),
    st.Page("pages/training.py", title="7 · Training", icon=":material/model_training:",
            url_path="training"),
]

page = st.navigation(PAGES)
init_session()
# The sampling page's settings rerun only a fragment of it, which leaves the sidebar as it was:
# that page shows the link to the view itself, next to those settings.
sidebar(share=page.url_path != "sampling")
page.run()
