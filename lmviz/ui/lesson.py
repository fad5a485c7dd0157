"""The lesson's steps in order: the navigation, Home's lesson path and each page's next-step link
all read this one list."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Step:
    path: str  # the page file, relative to the app's root
    title: str  # in the navigation
    tagline: str  # what the step does, after the title
    icon: str
    url_path: str


LESSON = (
    Step("pages/tokenization.py", "1 · Tokenization", "text becomes ids", ":material/segment:", "tokenization"),
    Step("pages/embeddings.py", "2 · Embeddings", "ids become vectors", ":material/scatter_plot:", "embeddings"),
    Step("pages/lstm.py", "3 · LSTM gates", "memory, one step at a time", ":material/memory:", "lstm"),
    Step("pages/attention.py", "4 · Attention", "every token looks back", ":material/grid_on:", "attention"),
    Step("pages/compare.py", "5 · Side by side", "two ways to remember", ":material/compare:", "compare"),
    Step("pages/sampling.py", "6 · Sampling", "from probabilities to text", ":material/casino:", "sampling"),
    Step("pages/training.py", "7 · Training", "watch the loss fall", ":material/model_training:", "training"),
)


def _index(path: str) -> int:
    return [step.path for step in LESSON].index(path)


def heading(path: str) -> str:
    """The page's title: the navigation's words and what the step does."""
    step = LESSON[_index(path)]
    return f"{step.title} — {step.tagline}"


def step_link(step: Step, prefix: str = "") -> None:
    st.page_link(step.path, label=prefix + heading(step.path), icon=step.icon)


def next_step(path: str) -> None:
    """A link to the step after the page at `path` (none after the last)."""
    index = _index(path)
    if index + 1 < len(LESSON):
        st.divider()
        step_link(LESSON[index + 1], prefix="Next: ")
