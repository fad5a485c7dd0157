"""Streamlit glue: the only part of lmviz that imports streamlit."""
