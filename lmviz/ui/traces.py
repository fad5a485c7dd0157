"""A run's trace of a text and its recurrent memory split by step, cached (by_owner) and with the
page's notes on what the model read."""

from __future__ import annotations

import streamlit as st

from lmviz.figures.tokens import unknown_tokens_sentence
from lmviz.memory import MemorySources, memory_sources
from lmviz.probes import ProbeError, TextTrace, trace_text
from lmviz.run import Run
from lmviz.text import message
from lmviz.ui.caching import by_owner


@by_owner(max_entries=64)
def _cached_trace(run_key: str, text: str, _run: Run) -> TextTrace:
    return trace_text(_run, text)


def trace_for(run: Run, text: str, notes: bool = True,
              cut: str = "only its end is shown") -> TextTrace | None:
    """The run's trace of a text, or a message on the page when it cannot be traced; `notes`:
    also say when the text was cut to the context (`cut`: what that means on this page) or has
    unknown tokens (once per page)."""
    try:
        result = _cached_trace(run, text)
    except ProbeError as err:
        st.warning(message(str(err)))
        return None
    if not notes:
        return result
    if result.truncated:
        st.info(f"The prompt is longer than the model's context ({run.model_config.context} "
                f"tokens): {cut}.")
    if result.encoding.unknown:
        st.info(f"{unknown_tokens_sentence(len(result.encoding.unknown))}.")
    return result


@by_owner(max_entries=64)
def _cached_memory(run_key: str, text: str, layer: int, _text_trace: TextTrace, _run: Run) -> MemorySources:
    return memory_sources(_text_trace.trace.layers[layer], _run.model_config.family)


def memory_for(run: Run, text_trace: TextTrace, layer: int) -> MemorySources:
    """A recurrent run's memory split by step for one traced text (O(T² H): 0.5 s at the GPU
    sizes, so computed once per run, text and layer and shared, like the trace)."""
    return _cached_memory(run, text_trace.text, layer, text_trace)
