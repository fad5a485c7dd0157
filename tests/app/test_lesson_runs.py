"""A lesson page starts only short trainings by itself; a long one waits for a click that says
how long it takes (a link or a slider could otherwise start hours of CPU)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit as st
import torch

from lmviz.corpora import load_corpus
from lmviz.jobs import Job
from lmviz.presets import View, configs
from lmviz.run import run_key
from lmviz.ui import lesson_runs
from lmviz.ui.state import _shared_store, session_holder
from tests.app.apptest import open_app_page


def key_of(view: View, family: str) -> str:
    return run_key(load_corpus(view.corpus), *configs(view, family))


def started(key: str) -> bool:
    store = _shared_store()
    return key in store.jobs or key in store.runs


def notes(at) -> str:
    return " ".join(i.value for i in at.info)


@pytest.mark.parametrize(("page", "smaller"), [
    ("pages/lstm.py", "Use hidden size 256 (about 35 seconds)"), (None, "Use hidden size 256 (about 35 seconds)"),
    # a GPT of 256 beside it takes about 3 minutes: the size offered suits both models
    ("pages/compare.py", "Use hidden size 128 (about a minute)"),  # both, one after the other
    ("pages/sampling.py", "Use hidden size 128 (about a minute)")])
def test_a_long_training_waits_for_a_click_that_says_how_long(page: str | None, smaller: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An LSTM of 512 units takes about 2 minutes on a CPU (on a GPU, seconds: the estimate is
    pinned to the CPU here): no page starts it by itself, nor the GPT beside it on the pages
    that show both."""
    monkeypatch.setattr(lesson_runs, "pick_device", lambda requested: torch.device("cpu"))
    view = View(hidden_size=512, seed=21)  # no other test trains these
    at = open_app_page(page, hidden_size="512", seed="21")
    assert not at.exception and not at.get("plotly_chart")
    assert "**Training the LSTM for this view (hidden size 512, seed 21) takes about 2 minutes**" in notes(at)
    assert "on this machine's CPU" in notes(at) and "a Hidden size below 512" in notes(at)
    assert [b.label for b in at.button if b.key.startswith("lesson-train-")] == [
        "Train the LSTM (about 2 minutes)"]
    assert not started(key_of(view, "lstm")) and not started(key_of(view, "gpt"))
    # one press to a size this page trains by itself, with how soon it shows
    assert [b.label for b in at.button if b.key.startswith("lesson-smaller-")] == [smaller]


def test_the_quicker_size_is_ready_now_where_it_is_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lesson_runs, "pick_device", lambda requested: torch.device("cpu"))
    monkeypatch.setattr(lesson_runs, "AUTO_TRAIN_SECONDS", 20.0)  # 256 is over: 128, shipped
    at = open_app_page("pages/lstm.py", hidden_size="512")
    (smaller,) = [b for b in at.button if b.key.startswith("lesson-smaller-")]
    assert smaller.label == "Use hidden size 128 (ready now)"
    smaller.click().run()
    assert not at.exception and at.session_state["hidden_size"] == 128
    assert len(at.get("plotly_chart")) == 7 and "takes about" not in notes(at)


def test_the_click_trains_it_and_the_page_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no time allowed, even a tiny model waits; the button trains it, and a later run
    of the page finds it."""
    monkeypatch.setattr(lesson_runs, "AUTO_TRAIN_SECONDS", 0.0)
    view = View(hidden_size=16, steps=20, seed=22)
    key = key_of(view, "lstm")
    at = open_app_page("pages/lstm.py", hidden_size="16", steps="20", seed="22")
    assert "takes a few seconds" in notes(at) and not started(key)
    assert "Hidden size below" not in notes(at)  # 16 is the smallest
    at.button(key=f"lesson-train-{key}").click().run()
    assert not at.exception and len(at.get("plotly_chart")) == 7
    assert key in _shared_store().runs and "takes about" not in notes(at)
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 7


def test_a_training_someone_started_is_joined_not_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the limit but already running (the Training page's Train, another visitor): the page
    follows that very training instead of asking, and starts no other."""
    monkeypatch.setattr(lesson_runs, "AUTO_TRAIN_SECONDS", 0.0)
    view = View(hidden_size=16, steps=1000, seed=23)  # a few seconds: still running as the page opens
    job = _shared_store().submit(load_corpus(view.corpus), view.corpus, *configs(view, "lstm"),
                                 holder="another visitor")
    assert job is not None and not job.done
    at = open_app_page("pages/lstm.py", hidden_size="16", steps="1000", seed="23")
    assert not at.exception and len(at.get("plotly_chart")) == 7 and "takes about" not in notes(at)
    assert len(job.holders) == 2 and _shared_store().get(job.key) is job.run  # joined, then finished


def test_a_running_training_that_stops_is_not_started_again_without_a_click(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen running, then stopped (its last holder let go) before the page joined: the page asks,
    it does not start a long training by itself."""
    monkeypatch.setattr(lesson_runs, "AUTO_TRAIN_SECONDS", 0.0)
    view = View(hidden_size=16, steps=20, seed=25)
    key = key_of(view, "lstm")
    monkeypatch.setattr(type(_shared_store()), "running", lambda self, k: object() if k == key else None)
    at = open_app_page("pages/lstm.py", hidden_size="16", steps="20", seed="25")
    assert not at.exception and not at.get("plotly_chart") and "takes a few seconds" in notes(at)
    assert not started(key)


def test_a_training_stopped_before_it_finished_is_never_shown_as_the_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped by its last holder elsewhere (another tab's Cancel, a closed tab): the page says
    so and draws no half-trained model."""
    view = View(hidden_size=16, steps=20, seed=24)
    stopped = Job(key=key_of(view, "lstm"), state="done", run=None)
    monkeypatch.setattr(lesson_runs, "submit", lambda *args, **kwargs: stopped)
    at = open_app_page("pages/lstm.py", hidden_size="16", steps="20", seed="24")
    assert not at.exception and not at.get("plotly_chart")
    assert [w.value for w in at.warning if "stopped before it finished" in w.value] == [
        "The training of the LSTM stopped before it finished; the next click on this page trains "
        "it again."]


def test_a_model_that_memorised_a_short_upload_says_so_and_trains_fewer_steps() -> None:
    """1,500 characters and 200 steps: the LSTM's validation loss is lowest at step 60 and rises
    to about 3.2 (the default 600 steps took 2.26 to 4.16); the page said nothing of it."""
    text = load_corpus("story")[:1500]
    at = open_app_page("pages/embeddings.py", corpus="upload", steps="200", seed="31")
    at.text_area(key="lmviz_upload_paste").input(text).run()
    assert not at.exception and at.get("plotly_chart")  # the model is drawn: real, if memorised
    said = [i.value for i in at.info if "by heart" in i.value]
    assert len(said) == 1 and "lowest at step 60 (" in said[0] and "1,500 characters" in said[0]
    (fewer,) = [b for b in at.button if b.key.startswith("fewer-steps-")]
    assert fewer.label.startswith("Train 60 steps instead (")
    fewer.click().run()
    assert not at.exception and at.session_state["steps"] == 60
    assert [t.value for t in at.toast if t.value.startswith("Steps set to 60 on the Training page")]
    assert not [i for i in at.info if "by heart" in i.value]  # still learning at its end


def test_the_compare_page_says_it_once_for_both_models() -> None:
    text = load_corpus("story")[:1500]
    at = open_app_page("pages/compare.py", corpus="upload", steps="200", seed="31", hidden_size="64")
    at.text_area(key="lmviz_upload_paste").input(text).run()
    assert not at.exception
    assert len([i for i in at.info if "by heart" in i.value]) == 1
    assert len([b for b in at.button if b.key.startswith("fewer-steps-")]) == 1
    # and a line for the GPT: the note named only the LSTM, yet both had memorised
    assert any(c.value.startswith("The GPT (transformer) learned its training text by heart too: its validation loss "
                                  "was lowest at step 60 (") for c in at.caption)


def test_a_lesson_page_lets_go_of_the_training_it_moved_on_from() -> None:
    """Each slider move started a training and left the last one running: a visitor scrubbing
    the seed filled the server's two slots and waited behind their own abandoned trainings."""
    me = session_holder()
    left = Job(key="k1", state="training", holders={me})
    shared = Job(key="k2", state="training", holders={me, "another visitor"})
    asked = Job(key="k3", state="queued", holders={me})
    st.session_state[lesson_runs.ASKED_KEY] = {"k3"}
    try:
        fourth = Job(key="k4", state="training", holders={me})
        for job in (left, shared, asked, fourth):
            lesson_runs.follow("lstm", job)
        assert left.cancel.is_set() and not left.holders  # stops at its next step
        assert not shared.cancel.is_set() and shared.holders == {"another visitor"}  # goes on for them
        assert not asked.cancel.is_set()  # a click asked for it: kept, however long
        other = Job(key="k5", state="training", holders={me})
        lesson_runs.follow("gpt", other)  # the GPT beside it is another family's
        last = Job(key="k6", state="queued", holders={me})
        lesson_runs.follow("lstm", last)
        assert not other.cancel.is_set()
        assert fourth.cancel.is_set() and st.session_state[lesson_runs.FOLLOWED_KEY]["lstm"] is last
        lesson_runs.follow("lstm", None)  # the next settings wait for a click: this one is left too
        assert last.cancel.is_set()
        # the Training page's own training is not a lesson page's to stop
        mine = Job(key="k7", state="training", holders={me})
        st.session_state[lesson_runs.TRAINING_PAGE_JOB_KEY] = SimpleNamespace(job=mine)
        lesson_runs.follow("gpt", mine)
        lesson_runs.follow("gpt", None)
        assert not mine.cancel.is_set()
        done = Job(key="k8", state="done", holders=set())
        lesson_runs.follow("rnn", done)  # a finished one is not kept in the session
        assert "rnn" not in st.session_state[lesson_runs.FOLLOWED_KEY]
    finally:
        st.session_state.pop(lesson_runs.TRAINING_PAGE_JOB_KEY, None)
        for key in (lesson_runs.ASKED_KEY, lesson_runs.FOLLOWED_KEY):
            st.session_state.pop(key, None)
