"""lmviz.ui.caching: a run of a visitor's uploaded text is cached in their session, a built-in
corpus's run process-wide (Streamlit keeps scope="session" caches per session and drops them when
it ends; AppTest runs every test under one session id, so the routing is tested here)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lmviz.ui import caching


def test_by_owner_routes_an_uploaded_text_s_run_to_the_session_cache(monkeypatch) -> None:
    scopes: list[str] = []

    def fake_cache_resource(scope: str = "global", **_options):
        def wrap(function):
            return lambda *args: (scope, function(*args))
        scopes.append(scope)
        return wrap

    monkeypatch.setattr(caching.st, "cache_resource", fake_cache_resource)

    @caching.by_owner(max_entries=4)
    def traced(run_key: str, text: str, _run) -> str:
        return f"{run_key}/{text}/{_run.corpus}"

    assert sorted(scopes) == ["global", "session"]
    own = SimpleNamespace(corpus="upload:ab12cd34", key="k1", instance="a")
    builtin = SimpleNamespace(corpus="story", key="k2", instance="b")
    # the run picks the cache and is passed on as its key and weights, and as the unhashed _run
    assert traced(own, "hi") == ("session", "k1/a/hi/upload:ab12cd34")
    assert traced(builtin, "hi") == ("global", "k2/b/hi/story")
    assert caching.own_text(own) and not caching.own_text(builtin)
    assert traced.__name__ == "traced"


def test_a_key_trained_again_is_not_served_the_old_weights_numbers(story: str) -> None:
    """The store keeps 24 runs: a key evicted and trained again (on a GPU, other weights) was
    served the old run's cached trace, so the LSTM page's equation (new weights) disagreed with
    its heatmaps (old trace): h = -0.4621 beside -0.5639."""
    from lmviz.models import ModelConfig
    from lmviz.run import TrainConfig
    from lmviz.tokenizers import TokenizerConfig
    from lmviz.training import train_run

    calls: list[str] = []

    @caching.by_owner(max_entries=4)
    def traced(run_key: str, text: str, _run) -> str:
        calls.append(run_key)
        return run_key

    settings = (story[:4000], "story", TokenizerConfig("char"), ModelConfig(hidden_size=8, context=16),
                TrainConfig(steps=2, batch_size=4, eval_every=2, sample_tokens=0, device="cpu"))
    first, again = train_run(*settings), train_run(*settings)
    assert first.key == again.key and first.instance != again.instance
    traced(first, "hi"), traced(again, "hi"), traced(first, "hi")
    assert len(set(calls)) == 2 and len(calls) == 2  # each run's own, each computed once


@pytest.mark.parametrize("corpus", ["story", "brackets", "copy", "uploaded"])
def test_built_in_corpus_names_are_not_uploads(corpus: str) -> None:
    assert not caching.own_text(SimpleNamespace(corpus=corpus))


def test_a_holder_is_alive_while_its_streamlit_session_is_connected(monkeypatch) -> None:
    """session_holder names a training's holder "<own id>@<session id>"; session_alive looks the
    session id up in Streamlit's runtime (AppTest's runtime is a stand-in, so test it here)."""
    from streamlit.runtime import Runtime

    from lmviz.ui.state import session_alive

    class Sessions:
        def is_active_session(self, session_id: str) -> bool:
            return session_id == "connected"

    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(Runtime, "instance", staticmethod(lambda: Sessions()))
    assert session_alive("0123abcd@connected")
    assert not session_alive("0123abcd@closed") and not session_alive("connected@closed")
    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: False))
    assert session_alive("0123abcd@closed")  # no server: a script, a test
