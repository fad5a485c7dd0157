"""The Sampling page's state: cached next-token logits and generations, the tokens its stepper
has asked for, and the side-by-side draw.

Every slider move reruns the page: the logits after a prompt are cached per (run key, prompt), and
a generation per (run key, prompt, settings, length, seed). Runs and generations are immutable, so
the process-wide cache is safe (a run of a visitor's own text: their session's cache);
generations keep no per-step arrays to stay small.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from lmviz.figures.sampling import generation_html
from lmviz.next_token import PromptIds, prompt_ids
from lmviz.presets import RANGES
from lmviz.run import Run
from lmviz.sampling import Generation, SamplingConfig, SamplingError, generate, next_logits
from lmviz.ui.caching import by_owner
from lmviz.ui.state import apply_view, current_view

MAX_TOKENS = 200  # the stepper's longest generation
# tables of generated steps (step_rows); pixel widths that fit side by side on a desktop
# (about 460 px each), which the default widths overflowed
STEP_COLUMNS = {  # under 360 px in all: a phone shows every column
    "step": st.column_config.NumberColumn(width=40),
    "token": st.column_config.TextColumn(width=66),
    "probability": st.column_config.ProgressColumn("probability", format="%.3f", min_value=0.0,
                                                   max_value=1.0, width=90),
    "rank": st.column_config.NumberColumn(width=44),
    "most likely": st.column_config.TextColumn("top", width=56, help="The likeliest token at that step"),
    "bits of surprise": st.column_config.NumberColumn("bits", format="%.2f", width=56,
                                                      help="Bits of surprise: −log₂ p of the pick"),
}
COMPARE_TOKENS = 30  # each model continues the prompt by this many tokens, side by side
COUNT = "sampling_count"  # the stepper keeps only how many tokens were asked for
SAMPLED_WITH = "sampling_with"  # and what its last text was sampled with (resampled_note)
DREW = "sampling_drew"  # "Generate again" was pressed: rerun the page, so its link shows the draw
_EMPTY = np.empty(0)


@by_owner(max_entries=64)
def _logits(run_key: str, prompt: str, _run: Run) -> tuple[np.ndarray, PromptIds]:
    read = prompt_ids(_run.tokenizer, _run.model_config, prompt)
    return next_logits(_run.model, read.ids), read


def logits_for(run: Run, prompt: str) -> tuple[np.ndarray, PromptIds]:
    """The run's logits for the token after the prompt, with notes on what the model read."""
    return _logits(run, prompt)


@by_owner(max_entries=32)
def _generation(run_key: str, prompt: str, temperature: float, top_k: int, top_p: float,
                count: int, seed: int, _run: Run) -> Generation:
    config = SamplingConfig(temperature, top_k, top_p)
    result = generate(_run.model, _run.tokenizer, prompt, config, count, seed=seed)
    light = [replace(s, logits=_EMPTY, probs=_EMPTY) for s in result.steps]
    return replace(result, steps=light)


def generation_for(run: Run, prompt: str, config: SamplingConfig, count: int,
                   seed: int) -> Generation | None:
    """`count` sampled tokens after the prompt (same seed, same prefix), or None with a message."""
    try:
        return _generation(run, prompt, config.temperature, config.top_k, config.top_p,
                           max(0, min(count, MAX_TOKENS)), seed)
    except SamplingError as err:
        st.warning(f"Cannot sample with these settings: {err}")
        return None


def sampling_config(temperature: float, top_k: int, top_p: float,
                    quiet: bool = False) -> SamplingConfig | None:
    """The settings as a SamplingConfig, or None with a message (`quiet`: where another part of
    the page already shows it)."""
    try:
        return SamplingConfig(float(temperature), int(top_k), float(top_p))
    except SamplingError as err:
        if not quiet:
            st.warning(f"Cannot sample with these settings: {err}")
        return None


def show_generation(result: Generation, heading: str = "") -> None:
    """The shaded text, under an optional heading (HTML made by lmviz, never user text: every
    piece of the text is escaped by generation_html)."""
    text = generation_html(result.prompt, result.steps)
    st.markdown(f"<div>{heading}</div>{text}" if heading else text, unsafe_allow_html=True)


def asked_tokens() -> int:
    """How many tokens this visitor's stepper has asked for (it keeps nothing else)."""
    return st.session_state.get(COUNT, 0)


def add_tokens(tokens: int) -> None:
    """A stepper button's callback: ask for `tokens` more, up to MAX_TOKENS."""
    st.session_state[COUNT] = min(MAX_TOKENS, asked_tokens() + tokens)


def add_chosen_tokens() -> None:
    """"Generate N": as many more as the N box says."""
    add_tokens(int(st.session_state.get("sampling_n") or 1))


def reset_tokens() -> None:
    st.session_state[COUNT] = 0
    st.session_state.pop(SAMPLED_WITH, None)


def resampled_note(sampled_with: tuple) -> str | None:
    """What the stepper says when the settings it samples with changed since its last text
    (they move in another fragment): the whole text is sampled again, not only the new token
    ("ep·" became "airs" at T = 2, under "the text grows by one token per click")."""
    before = st.session_state.get(SAMPLED_WITH)
    st.session_state[SAMPLED_WITH] = sampled_with
    if before is None or before == sampled_with:
        return None
    return ("The settings changed since the last click, so the whole text was sampled again from "
            "the start with them: each click samples every token with the settings above and the "
            "seed (the same settings and seed give the same text, one token longer per click).")


def next_draw() -> None:
    """"Generate again": the next draw, kept in the link, and a flag for `drew`; after the last
    draw a link can carry, the first again (a new text on every press)."""
    view = current_view()
    apply_view(replace(view, draw=(view.draw + 1) % (int(RANGES["draw"][1]) + 1)))
    st.session_state[DREW] = True


def drew() -> bool:
    """Whether "Generate again" was pressed since the last call (the flag is taken down)."""
    return bool(st.session_state.pop(DREW, False))
