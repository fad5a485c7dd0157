"""Tokenizers trained on the view's corpus, cached: shared for built-in corpora, per session for uploads."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from lmviz.corpora import VAL_FRACTION, min_chars, min_training_tokens, split_text
from lmviz.figures.tokens import TokenCount, count_tokens
from lmviz.presets import UPLOAD, View, configs
from lmviz.text import counted
from lmviz.tokenizers import (
    LONGEST_TOKEN,
    TOKEN_NAMES,
    Tokenizer,
    TokenizerConfig,
    different_words,
    train_tokenizer,
)
from lmviz.ui.state import contexts, corpus_text, upload_label

# the BPE merge table's (merge_rows) pixel widths: it shares a desktop row with the chips
# (about 460 px) and every column must show, which the default widths overflowed; under 360 px
# in all, a phone's width (two long labels, shortened, say the rest on hover)
MERGE_COLUMNS = {name: st.column_config.Column(label, help=help_text, width=width)
                 for name, label, help_text, width in (
    ("merge", None, None, 52), ("left", None, None, 42), ("right", None, None, 44),
    ("new token", None, None, 76),
    ("learned (≤ k)", "learned", "Among the first k merges (the slider's k)", 66),
    ("in the prompt", "in prompt", "A token of the prompt as split after the first k merges", 74))}


@dataclass(frozen=True)
class TrainedTokenizer:
    """A tokenizer, how it cuts its own corpus, and the corpus's different words (immutable: safe
    in a process-wide cache)."""

    tokenizer: Tokenizer
    corpus: TokenCount
    words: frozenset[str]


def _train(text: str, kind: str, vocab_size: int) -> TrainedTokenizer:
    tokenizer = train_tokenizer(text, TokenizerConfig(kind, vocab_size))
    return TrainedTokenizer(tokenizer, count_tokens(tokenizer, text), frozenset(different_words(text)))


@st.cache_resource(max_entries=48, show_spinner="Training the tokenizer on the corpus…")
def _shared(corpus: str, kind: str, vocab_size: int, _text: str) -> TrainedTokenizer:
    return _train(_text, kind, vocab_size)


@st.cache_resource(scope="session", max_entries=12,
                   show_spinner="Training the tokenizer on your text…")
def _session(text_hash: str, kind: str, vocab_size: int, _text: str) -> TrainedTokenizer:
    return _train(_text, kind, vocab_size)


def trained_tokenizer(view: View, kind: str) -> TrainedTokenizer | None:
    """The `kind` tokenizer the view's model would use (same config as its Run), trained on the
    view's corpus; None when there is no text yet (an upload not made)."""
    text = corpus_text(view)
    if text is None:
        return None
    config = configs(replace(view, tokenizer=kind))[0]
    if view.corpus == UPLOAD:
        return _session(upload_label(text), config.kind, config.vocab_size, text)
    return _shared(view.corpus, config.kind, config.vocab_size, text)


def too_short_note(view: View) -> str | None:
    """Why the view's text cannot train with its tokenizer and Context, for the page: its
    training part (`split_text`) holds too few tokens (word and BPE tokens, several characters
    each, had passed a count of characters, and the training failed); None when it is long
    enough, or there is no text. A text whose training part could hold enough tokens of at most
    LONGEST_TOKEN characters each is not encoded."""
    text = corpus_text(view)
    needed = min_training_tokens(view.context)
    if text is None or len(text) >= LONGEST_TOKEN * min_chars(view.context):
        return None
    trained = trained_tokenizer(view, view.tokenizer)
    assert trained is not None  # there is a text
    have = len(trained.tokenizer.encode(split_text(text)[0]).ids)
    if have >= needed:
        return None
    kind = TOKEN_NAMES[view.tokenizer]
    more = f" (at least {min_chars(view.context):,} characters in all)" if view.tokenizer == "char" else ""
    # only what can help: char tokens where the text holds enough characters, a shorter Context
    # where there is one
    ways = [f"Add text{more}"]
    if view.context > min(contexts()) and have >= min_training_tokens(min(contexts())):
        ways.append("choose a shorter Context on the Training page")
    if view.tokenizer != "char" and len(text) >= min_chars(view.context):
        ways.append("choose char tokens (one per character) in the sidebar")
    advice = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + ", or " + ways[-1]
    return (f"Too short to train on: a model reads {view.context} tokens at a time, and "
            f"{1 - VAL_FRACTION:.0%} of the text (the rest checks it) must hold at least {needed:,} "
            f"{kind}; yours holds {counted(have, kind[:-1], kind)}. {advice}.")
