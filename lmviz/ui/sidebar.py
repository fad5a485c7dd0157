"""The sidebar: the controls every page shares (kept in the link), their callbacks, and the link
to the view."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

from lmviz.corpora import CorpusError, read_user_text
from lmviz.presets import (
    CHOICES,
    FAMILY_DEFAULTS,
    MAX_PROMPT_CHARS,
    UPLOAD,
    View,
    example_prompt,
    is_example_prompt,
    long_prompt_note,
    opening_prompt,
    spells_family_default,
    text_prompt,
    to_params,
)
from lmviz.run_compare import TRAINING_LABELS, training_changes
from lmviz.text import message
from lmviz.ui.state import (
    PROMPT_NOTE_KEY,
    UPLOAD_KEY,
    apply_view,
    corpus_text,
    current_view,
    hidden_sizes,
    set_prompt,
)
from lmviz.ui.tokens import too_short_note

UPLOAD_PROMPT_KEY = "lmviz_upload_prompt"  # the prompt the last uploaded text brought


def sidebar(share: bool = True) -> View:
    """The controls that define the model every page shows (kept in the URL), and the link to
    this view unless the page shows it itself (`share=False`)."""
    with st.sidebar:
        st.subheader("Model")
        st.selectbox("Corpus", CHOICES["corpus"], key="corpus", bind="query-params",
                     on_change=_example_changed,
                     help="The text the model learns from; 'upload' trains on your own text.")
        if st.session_state.get("corpus") == UPLOAD:
            _upload_box()
        st.selectbox("Tokenizer", CHOICES["tokenizer"], key="tokenizer", bind="query-params",
                     on_change=_example_changed,
                     help="char: one token per character; word: whole words; bpe: learned pieces.")
        st.selectbox("Model family", CHOICES["model"], key="model", bind="query-params",
                     on_change=_family_changed,
                     # no format_func: a bound selectbox would write its label into the link
                     help="lstm, gru, rnn: recurrent cells (LSTM, GRU, a vanilla RNN); gpt: a "
                          "tiny transformer (GPT).")
        st.select_slider("Hidden size", hidden_sizes(), value=View().hidden_size, key="hidden_size",
                         bind="query-params", help="Units per LSTM layer, or the GPT's width.")
        st.number_input("Seed", 0, 9999, View().seed, key="seed", bind="query-params")
        # No max_chars: the browser would refuse a longer paste without a word; it is cut here
        # opening on the corpus's example, as a link without a prompt does (`parse_params`): the
        # box leaves the link while it holds it, and Back to such a link brings it back
        opens_on = opening_prompt(st.session_state.get("corpus", View().corpus),
                                  st.session_state.get("tokenizer", View().tokenizer))
        st.text_area("Prompt", opens_on, key="prompt", bind="query-params", height=90,
                     on_change=_cut_typed_prompt,
                     help=f"Shared by every page; up to {MAX_PROMPT_CHARS} characters.")
        cut, note = st.session_state.get(PROMPT_NOTE_KEY, (None, ""))
        if cut == st.session_state.get("prompt"):
            st.warning(message(note), icon=":material/content_cut:")
        view = current_view()
        example = example_prompt(view.corpus, view.tokenizer)
        if example and example != view.prompt:
            st.button("Use an example prompt for this corpus", on_click=set_prompt, args=(example,))
        _training_settings(view)
        if share:
            share_box(view)
        else:
            st.caption("The link to this view is on the page, under the sampling settings.")
    return view


def _example_changed() -> None:
    """The corpus and tokenizer boxes' callback: a prompt still at an example (or at an upload's)
    becomes the new corpus's (story's words on `brackets` would be mostly <unk>), as the tokenizer reads it
    (word tokens: one that ends on a word); a typed one stays."""
    view = current_view()
    example = example_prompt(view.corpus, view.tokenizer)
    if example and _not_typed(st.session_state.get("prompt", View().prompt)):
        st.session_state.prompt = example


def _prompt_from(text: str) -> None:
    """An uploaded text brings a prompt of its own (story's words on a CSV or a German text were
    mostly <unk>) where the prompt is still an example or the last upload's; a typed one stays."""
    prompt = text_prompt(text, st.session_state.get("tokenizer", View().tokenizer))
    current = st.session_state.get("prompt", View().prompt)
    if prompt and prompt != current and _not_typed(current):
        st.session_state.prompt = prompt  # the Prompt box is drawn below: it shows it this run
    st.session_state[UPLOAD_PROMPT_KEY] = prompt


def _not_typed(prompt: str) -> bool:
    """Whether the prompt is one the app put there (a corpus's example, or the last uploaded
    text's), which a new corpus or text may replace; a typed one stays."""
    return is_example_prompt(prompt) or prompt == st.session_state.get(UPLOAD_PROMPT_KEY)


def _family_changed() -> None:
    """The family box's callback: layers or steps that spell out the new family's default become
    0, which says just that (the Training page's sliders have no other place for it, and the
    sidebar would call the default a change)."""
    for name in FAMILY_DEFAULTS:
        if spells_family_default(name, st.session_state.get(name), st.session_state.get("model")):
            st.session_state[name] = 0


def _cut_typed_prompt() -> None:
    """The prompt box's callback: a prompt longer than the app uses is cut, with a note shown
    while the box holds the cut text."""
    typed = st.session_state.prompt or ""
    if len(typed) > MAX_PROMPT_CHARS:
        st.session_state.prompt = typed[:MAX_PROMPT_CHARS]
        st.session_state[PROMPT_NOTE_KEY] = (st.session_state.prompt,
                                             long_prompt_note(len(typed), "you entered"))


def _training_settings(view: View) -> None:
    """Every page trains with the Training page's settings: say so when they are not the
    defaults (a learning rate that blows up breaks the other pages too), with a way back."""
    changes = training_changes(view)
    if changes:
        st.caption("Trained with the Training page's settings: " + ", ".join(changes) + ".")
        st.button("Reset the training settings", key="reset_training", on_click=reset_training,
                  icon=":material/restart_alt:")


def reset_training() -> None:
    default = View()
    apply_view(replace(current_view(), **{name: getattr(default, name) for name in TRAINING_LABELS}))


def share_box(view: View) -> None:
    # the code box's copy button shows only under a pointer (a phone has none); and a link was
    # taken to carry the page's pickers too
    st.caption("Share this view: copy the link below (select it, or point at it for its copy "
               "button). It carries the model, the prompt and the settings; a page's own pickers "
               "(a step, a unit, a head) open at their defaults.")
    st.code(share_link(view), language=None, wrap_lines=True)  # the whole link in sight
    # a visitor's text never leaves their session, links included (none given yet: nothing to say)
    if view.corpus == UPLOAD and corpus_text(view) is not None:
        st.warning("Your uploaded text is not in the link: it opens the **story** corpus. To "
                   "show others this model, they choose **upload** and add the same file.",
                   icon=":material/link_off:")


def share_link(view: View) -> str:
    """This page's address with the view's non-default settings in the query string."""
    page = (st.context.url or "").split("?")[0]
    params = to_params(view)
    return page + ("?" + urlencode(params) if params else "")


def _upload_box() -> None:
    uploaded = st.file_uploader("Upload a UTF-8 text file", type=["txt", "md", "csv", "py"],
                                key="lmviz_upload_file")
    pasted = st.text_area("…or paste text", key="lmviz_upload_paste", height=100)
    data = uploaded.getvalue() if uploaded is not None else (pasted or "")
    if not data:
        st.info("Upload or paste at least a paragraph to train on your own text.")
        st.session_state.pop(UPLOAD_KEY, None)
        return
    try:
        text = st.session_state[UPLOAD_KEY] = read_user_text(data)
    except CorpusError as err:
        st.session_state.pop(UPLOAD_KEY, None)
        st.error(message(str(err)))
        return
    _prompt_from(text)
    st.caption(f"{len(text):,} characters, kept in this session only.")
    if (short := too_short_note(current_view())) is not None:
        st.warning(short, icon=":material/short_text:")
