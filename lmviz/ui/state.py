"""One place for app state: URL + session values -> View, runs for a view; the callbacks that
change it (the sidebar that shows it is lmviz.ui.sidebar)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lmviz.corpora import load_corpus
from lmviz.device import available_devices
from lmviz.jobs import Job, RunStore
from lmviz.models import RECURRENT_FAMILIES
from lmviz.presets import (
    CONTEXTS,
    GPU_CONTEXTS,
    GPU_HIDDEN_SIZES,
    HIDDEN_SIZES,
    MAX_PROMPT_CHARS,
    SHAREABLE,
    UPLOAD,
    View,
    clean_link,
    configs,
    copy_lesson,
    parse_params,
    to_params,
)
from lmviz.run import Run, run_key
from lmviz.text import message
from lmviz.ui.caching import UPLOAD_PREFIX

MAX_PARALLEL_TRAININGS = 2
# the corpus is already "upload" when this is said: "Choose a corpus, or upload…" was half noise
NO_TEXT_YET = ("Upload a file or paste a text in the sidebar (**…or paste text**, a few paragraphs "
               "at least): the models train on it.")
UPLOAD_KEY = "lmviz_upload_text"
HOLDER_KEY = "lmviz_holder"
PROMPT_NOTE_KEY = "lmviz_prompt_note"  # (the prompt as cut, the note that says so)
LINK_KEY = "lmviz_link"  # the link the session opened with, cleaned: its View values
MODEL_LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN (vanilla)", "gpt": "GPT (transformer)"}


@st.cache_resource
def _shared_store() -> RunStore:
    """Runs of built-in corpora: immutable, shared by every visitor, bounded."""
    return RunStore(threading.Semaphore(MAX_PARALLEL_TRAININGS), max_runs=24, alive=session_alive,
                    grace=gone_grace())


def store_for(view: View) -> RunStore:
    """A visitor's uploaded text trains into their own store: never seen by another session."""
    shared = _shared_store()
    if view.corpus != UPLOAD:
        return shared
    if "lmviz_session_store" not in st.session_state:
        st.session_state.lmviz_session_store = RunStore(shared.gate, max_runs=6, shipped=None,
                                                        alive=session_alive, grace=gone_grace())
    return st.session_state.lmviz_session_store


@st.cache_resource(max_entries=8)
def _builtin_text(name: str) -> str:
    return load_corpus(name)


def corpus_text(view: View) -> str | None:
    if view.corpus == UPLOAD:
        return st.session_state.get(UPLOAD_KEY)
    return _builtin_text(view.corpus)


def has_cuda() -> bool:
    return "cuda" in available_devices()


def hidden_sizes() -> tuple[int, ...]:
    return GPU_HIDDEN_SIZES if has_cuda() else HIDDEN_SIZES


def contexts() -> tuple[int, ...]:
    return GPU_CONTEXTS if has_cuda() else CONTEXTS


def configure_torch() -> None:
    """One intra-op thread per computation: a server runs several sessions and up to
    MAX_PARALLEL_TRAININGS trainings at once, and oversubscribed threads made tiny models 10x
    slower under load. LMVIZ_TORCH_THREADS overrides it (e.g. on a dedicated machine)."""
    import os

    import torch

    torch.set_num_threads(int(os.environ.get("LMVIZ_TORCH_THREADS", "1")))


def require_app() -> None:
    """Call first on every page. A fresh server whose first visitor opens a direct link runs that
    page alone (Streamlit's legacy pages/ folder discovery, switched off only once app.py has
    called st.navigation); run app.py here instead, which runs this page inside its navigation,
    then stop. No rerun, so the clicks of this run are kept."""
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    app = Path(__file__).resolve().parents[2] / "app.py"
    exec(compile(app.read_text(encoding="utf-8"), str(app), "exec"), {"__name__": "__main__", "__file__": str(app)})
    st.stop()


def init_session() -> None:
    """Before any control reads the link. First run of a session: drop the values this machine
    cannot use from it (so the address bar shows the view on screen), say which and why (until
    that setting changes), and keep it. Later runs: put back what a page change dropped from the
    address (`keep_view_in_address`): the browser carries only the values of controls it has drawn, so a link's Temperature opened
    on the Training page leaves at the first page change, and comes back here (one more entry in
    the history, until the Sampling page has drawn its slider once)."""
    if "lmviz_notes" not in st.session_state:
        # as the address has them: a repeated parameter as the list of its values
        raw = {k: values[0] if len(values) == 1 else values
               for k in st.query_params for values in [st.query_params.get_all(k)]}
        cleaned, notes = clean_link(raw, gpu=has_cuda())
        opened = parse_params(cleaned, gpu=has_cuda())[0]
        # each with the value it announced: said until its setting changes ("using 1.0" was
        # still said after the Temperature moved)
        st.session_state.lmviz_notes = [(note, note.setting, getattr(opened, note.setting)) for note in notes]
        # kept for the session: a page change drops the link's values that no control on the
        # new page has taken up yet (a Temperature in a link to the Training page)
        st.session_state[LINK_KEY] = {k: v for k, v in cleaned.items() if k in SHAREABLE}
        if cleaned != raw:
            st.query_params.from_dict(cleaned)
            _seed_controls_from_the_link()
    elif keep_view_in_address():  # a page change dropped some: the page's controls read them back
        _seed_controls_from_the_link()
    if st.session_state.lmviz_notes:
        view = current_view()  # a note goes for good once its setting has changed
        st.session_state.lmviz_notes = [(note, setting, announced)
                                        for note, setting, announced in st.session_state.lmviz_notes
                                        if getattr(view, setting) == announced]
    for note, _, _ in st.session_state.lmviz_notes:
        st.warning(message(note), icon=":material/link_off:")


def link_note_outdated(view: View) -> bool:
    """Whether a link's note on screen is about a setting that has changed since: a fragment
    that moved it reruns the whole page, whose init_session drops the note ("using 1.0" stayed
    above the page while the Temperature read 0.3)."""
    return any(getattr(view, setting) != announced
               for _, setting, announced in st.session_state.get("lmviz_notes", ()))


def _seed_controls_from_the_link() -> None:
    """Streamlit seeds a control bound to the link from the address the session opened with,
    not from st.query_params (and its number input crashes on seed=inf): make the cleaned link
    the one they read. This is the call Streamlit 1.67 makes itself on a page change."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        with ctx.session_state.query_params() as params:
            params.set_initial_query_params_from_current()


def current_view() -> View:
    """Widget values where set this session, else the link's values (the address's, else the
    one the session opened with), else defaults."""
    address = {k: st.query_params[k] for k in st.query_params}
    linked, _ = parse_params({**st.session_state.get(LINK_KEY, {}), **address})
    values = {name: st.session_state[name] for name in View.__dataclass_fields__
              if name in st.session_state and st.session_state[name] is not None}
    view = replace(linked, **values)
    if view.hidden_size not in hidden_sizes():  # a GPU size in a link opened on a CPU
        view = replace(view, hidden_size=View().hidden_size)
    if view.context not in contexts():
        view = replace(view, context=View().context)
    return replace(view, prompt=(view.prompt or "")[:MAX_PROMPT_CHARS])


def apply_view(view: View) -> None:
    """Set every control to `view` (for a button's callback): the session's widget values, and
    the link, which a control bound to it on another page reads when that page opens."""
    current = current_view()
    for name in SHAREABLE:
        if getattr(view, name) != getattr(current, name):
            st.session_state[name] = getattr(view, name)
    keep_view_in_address()  # a control bound to the link on this page moves it itself


def keep_view_in_address() -> bool:
    """The view's values that no control is bound to go into the address bar too, in one update
    (each update is an entry in the browser's history); whether the address changed. A control
    bound to the link keeps its own. Written only where the address differs, so a rerun sends
    nothing."""
    params = to_params(current_view())
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    with ctx.session_state.query_params() as address:
        wrong = [name for name in SHAREABLE
                 if address.get_all(name) != ([params[name]] if name in params else [])
                 and not address.is_bound(name)]
        if not wrong:
            return False
        for name in wrong:
            if name in params:
                address.set_with_no_forward_msg(name, params[name])
            else:
                address.discard_param_no_forward_msg(name)
        address._send_query_param_msg()  # one message for them all
    return True


def release_page_controls() -> None:
    """After a page has run: its controls bound to the link let go of their parameters. Streamlit
    drops a parameter bound to another page's control at a page change, so the Training page's
    settings (and the Sampling page's) left the address on every other page: a link copied from
    the address bar opened another model than the one on screen, and putting them back added
    entries to the browser's history (Back then stayed on the page). Released, they ride along
    with the address like any other parameter; the control binds again when its page runs, and
    the browser still writes its moves into the address."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    main = ctx.pages_manager.main_script_hash
    with ctx.session_state.query_params() as address:
        for name in SHAREABLE:
            binding = address.get_binding_for_param(name)
            if binding is not None and binding.script_hash != main:
                address.unbind_widget(binding.widget_id)


def use_copy_lesson() -> None:
    """A button's callback: the copy lesson's corpus, GPT training and repeating prompt."""
    apply_view(copy_lesson(current_view()))
    st.toast("The copy lesson is loaded: corpus copy, its GPT trained 3,000 steps, a prompt that "
             "repeats a span. The page above shows it now.", icon=":material/content_copy:")


def set_prompt(text: str) -> None:
    """A button's callback: the shared prompt becomes `text`."""
    st.session_state.prompt = text


def upload_label(text: str) -> str:
    return UPLOAD_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def session_holder() -> str:
    """This session's name on the trainings it asks for (see `Job.release`): a name of its own
    (AppTest gives every session the same id), then "@" and its Streamlit session id, which
    `session_alive` looks up."""
    if HOLDER_KEY not in st.session_state:
        ctx = get_script_run_ctx()
        st.session_state[HOLDER_KEY] = f"{uuid.uuid4().hex}@{ctx.session_id if ctx else ''}"
    return st.session_state[HOLDER_KEY]


def gone_grace() -> float:
    """How long a training waits for a closed tab to come back before it stops: as long as
    Streamlit keeps the tab's session for it (server.disconnectedSessionTTL, 2 minutes)."""
    return float(st.get_option("server.disconnectedSessionTTL"))


def session_alive(holder: str) -> bool:
    """Whether the session that `holder` names is still connected: a closed tab's is not
    (Streamlit keeps it `gone_grace` seconds for it to come back; RunStore waits as long).
    Without a server, every holder is (AppTest's runtime is a stand-in that answers neither)."""
    from streamlit.runtime import Runtime

    session_id = holder.rpartition("@")[2]
    return not Runtime.exists() or Runtime.instance().is_active_session(session_id) is not False


def submit(view: View, family: str | None = None, device: str = "auto",
           start: bool = True) -> Job | None:
    """Start or join the training for this view (None when there is no text yet); with `start`
    False, only join or find it (None where it is neither running nor trained)."""
    text = corpus_text(view)
    if text is None:
        st.info(NO_TEXT_YET)
        return None
    corpus = view.corpus if view.corpus != UPLOAD else upload_label(text)
    try:
        return store_for(view).submit(text, corpus, *configs(view, family, device),
                                      holder=session_holder(), start=start)
    except ValueError as err:
        st.error(f"These settings cannot train: {err}")
        return None


def view_key(view: View, family: str | None = None) -> str | None:
    """The run key of what the view trains (None when there is no text yet)."""
    text = corpus_text(view)
    return None if text is None else run_key(text, *configs(view, family))


def finished_run(view: View, key: str) -> Run | None:
    """The view's run, whose key is `key` (view_key), if it is already trained (shipped, or by
    anyone while this server runs); None otherwise. Trains nothing and says nothing."""
    return store_for(view).get(key)


def recurrent_family(view: View) -> str:
    return view.model if view.model in RECURRENT_FAMILIES else "lstm"


def keep_choice(key: str, options: Sequence, default: object, made_for: object = None) -> None:
    """Give a control its value before it is drawn: the one it had if still among `options` and
    chosen for the same `made_for` (a run key, a text: what the choice was about), else
    `default`. Assigned on every run, not only on a change: a control missing from the last
    run (an empty prompt stops a page) otherwise came back in the browser at its first option
    while the page computed with the value kept in session state."""
    value = st.session_state.get(key)
    same = st.session_state.get(f"{key}__made_for", made_for) == made_for
    st.session_state[key] = value if value in options and same else default
    st.session_state[f"{key}__made_for"] = made_for


def ensure_prompt(view: View) -> str | None:
    if not view.prompt.strip():
        blank = "blank (only spaces, tabs or line breaks)" if view.prompt else "empty"
        st.warning(f"The prompt is {blank}: type a few words in the sidebar's Prompt box (on a phone, the "
                   "sidebar opens from the top-left corner).")
        return None
    return view.prompt
