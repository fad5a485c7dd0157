"""Caches of what is derived from a run (traces, logits, samples): process-wide for the runs of the
built-in corpora, which every visitor shares, and in the visitor's own session for a run of their
uploaded text, so that nothing of it sits in a global or outlives the session (DESIGN.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from lmviz.run import Run

T = TypeVar("T")
UPLOAD_PREFIX = "upload:"  # Run.corpus of a visitor's uploaded text: "upload:<hash>"
SESSION_ENTRIES = 16  # per visitor: a few runs × a few prompts


def own_text(run: Run) -> bool:
    """Whether the run was trained on a visitor's uploaded text."""
    return run.corpus.startswith(UPLOAD_PREFIX)


def by_owner(max_entries: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache `function(run_key, *args, _run)` twice: process-wide (`max_entries`) and per session.
    It is called as `cached(run, *args)`: the run picks the cache and is passed on as its key
    and weights' instance (hashed, with `args`: a key trained again is other weights) and as
    `_run` (not hashed: a run is immutable once made)."""
    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        shared = st.cache_resource(max_entries=max_entries, show_spinner=False)(function)
        own = st.cache_resource(scope="session", max_entries=SESSION_ENTRIES, show_spinner=False)(function)

        @functools.wraps(function)
        def call(run: Run, *args: object) -> T:
            return (own if own_text(run) else shared)(f"{run.key}/{run.instance}", *args, run)
        return call
    return decorate
