"""The home page (/): lesson path, the model on screen, link validation notes."""

from __future__ import annotations

from itertools import pairwise

import pytest
from streamlit.testing.v1 import AppTest

from lmviz.corpora import load_corpus
from lmviz.presets import CORPUS_PROMPTS, WORD_PROMPTS, View, text_prompt
from lmviz.ui.lesson import LESSON
from tests.app.apptest import open_app_page


def open_home(**params: str) -> AppTest:
    return open_app_page(None, **params)


def test_default_home_shows_the_shipped_model() -> None:
    at = open_home()
    assert at.title[0].value == "Watch small language models think"
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Validation loss"]) < 2.0  # the shipped LSTM has learned something
    assert float(metrics["Bits per char"]) < 3.0
    assert len(at.get("plotly_chart")) == 1  # its learning curve
    assert any("LSTM, hidden size 128" in m.value for m in at.markdown)
    assert [s.label for s in at.sidebar.selectbox] == ["Corpus", "Tokenizer", "Model family"]
    # its time is the build machine's (under its load then), with this machine's estimate beside
    shipped = next(m for m in at.metric if m.label == "Trained in")
    assert shipped.proto.help.startswith("Shipped with the app, not trained here")
    assert "timed on the cpu of the machine that built it" in shipped.proto.help
    assert "Here it would take about" in shipped.proto.help
    assert any(c.value.startswith("shipped with the app; here: about") for c in at.caption)  # in sight
    fresh = open_home(steps="20", hidden_size="16")  # trained here, now
    assert any(m.label == "Trained in" and "on this server" in m.proto.help for m in fresh.metric)
    assert not any(c.value.startswith("shipped with the app") for c in fresh.caption)


def test_switching_family_and_corpus_shows_that_run() -> None:
    at = open_home()
    before = {m.label: m.value for m in at.metric}["Validation loss"]
    at.selectbox(key="model").set_value("gpt").run()
    assert not at.exception
    assert any("GPT (transformer)" in m.value for m in at.markdown)
    at.selectbox(key="corpus").set_value("agreement").run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}["Validation loss"]
    assert after != before and float(after) < 1.0  # the agreement grammar is easy to predict


def test_bad_link_values_fall_back_with_a_note() -> None:
    at = open_home(corpus="nonsense", hidden_size="100", temperature="9")
    notes = " ".join(w.value for w in at.warning)
    for key in ("corpus", "hidden_size", "temperature"):
        assert f"Ignored {key}=" in notes
    assert any("LSTM, hidden size 128" in m.value for m in at.markdown)  # the defaults


@pytest.mark.parametrize("params", [{"seed": "inf"}, {"seed": "1e400"}, {"seed": "12.5"},
                                    {"vocab_size": "1"}, {"hidden_size": "1024"}])
def test_a_bad_link_value_leaves_the_link_with_a_note_never_a_traceback(params: dict) -> None:
    """Streamlit's own link binding crashed on seed=inf and read seed=12.5 as 12: values are
    checked and dropped from the link before any control reads it."""
    at = open_home(**params)
    assert not at.exception
    (name,) = params
    assert any(f"Ignored {name}=" in w.value for w in at.warning)
    assert name not in at.query_params
    if name in at.session_state:  # vocab_size's control is on the Tokenization page
        assert at.session_state[name] == getattr(View(), name)


def test_a_long_prompt_in_the_link_is_cut_with_a_note() -> None:
    at = open_home(prompt="the keeper " * 100)
    assert not at.exception and any("first 500 are used" in w.value for w in at.warning)
    assert len(at.session_state["prompt"]) == 500 and len(at.query_params["prompt"]) == 500


def test_example_prompt_button_sets_the_prompt() -> None:
    at = open_home(corpus="brackets", prompt="my own words")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.session_state["prompt"].startswith("out = f(")


def test_word_tokens_bring_an_example_that_ends_on_a_word() -> None:
    """Story's example stops mid-word ("the st"): word tokens read "st" as <unk>, and the models
    then mostly wrote <unk>. Back to char tokens, the example comes back; a typed prompt stays."""
    at = open_home(steps="20", hidden_size="16")  # each tokenizer trains a model: tiny ones
    at.selectbox(key="tokenizer").set_value("word").run()
    assert not at.exception and at.session_state["prompt"] == WORD_PROMPTS["story"]
    at.selectbox(key="tokenizer").set_value("char").run()
    assert at.session_state["prompt"] == CORPUS_PROMPTS["story"]
    at.selectbox(key="corpus").set_value("brackets").run()
    at.selectbox(key="tokenizer").set_value("word").run()  # brackets has no word example of its own
    assert at.session_state["prompt"] == CORPUS_PROMPTS["brackets"]
    at.text_area(key="prompt").input("my own words").run()
    at.selectbox(key="tokenizer").set_value("bpe").run()
    assert at.session_state["prompt"] == "my own words"


def test_a_new_corpus_brings_its_example_prompt_unless_one_was_typed() -> None:
    at = open_home()
    at.selectbox(key="corpus").set_value("brackets").run()
    assert not at.exception and at.session_state["prompt"] == CORPUS_PROMPTS["brackets"]
    assert "prompt=" not in at.sidebar.code[0].value  # a link to brackets opens on it anyway
    at.selectbox(key="corpus").set_value("copy").run()
    assert at.session_state["prompt"] == CORPUS_PROMPTS["copy"]
    at.text_area(key="prompt").input("my own words").run()
    at.selectbox(key="corpus").set_value("story").run()
    assert not at.exception and at.session_state["prompt"] == "my own words"


def test_upload_without_text_asks_for_it_and_bad_text_is_refused() -> None:
    at = open_home(corpus="upload")
    assert any("your own text" in i.value or "Upload or paste" in i.value for i in at.info)
    at.text_area(key="lmviz_upload_paste").input("too short").run()
    assert not at.exception
    assert any("too short" in e.value for e in at.error)
    # long enough to read, too short for a model reading 64 tokens at a time: the sidebar says
    # so and what to do, and the page trains nothing (the training could only fail)
    at.text_area(key="lmviz_upload_paste").input("A text of fifty characters, give or take a few.").run()
    assert not at.exception and not at.error
    assert any("Too short to train on" in w.value and "at least 74 characters" in w.value
               for w in at.sidebar.warning)
    assert any(w.value.startswith("Too short to train on") for w in at.main.warning)
    at.text_area(key="lmviz_upload_paste").input("A text of my own, long enough to train on. " * 3).run()
    assert not any("Too short" in w.value for w in at.sidebar.warning)
    # the link cannot carry the visitor's text: the sidebar says what it opens instead
    assert "corpus=" not in at.sidebar.code[0].value
    assert any("not in the link" in w.value and "story" in w.value for w in at.sidebar.warning)


def test_share_link_carries_the_changed_settings() -> None:
    at = open_home(temperature="0.3", hidden_size="64")
    link = at.sidebar.code[0].value
    assert "temperature=0.3" in link and "hidden_size=64" in link
    assert "corpus=" not in link  # defaults stay out of the link
    assert not any("not in the link" in w.value for w in at.sidebar.warning)


def test_word_tokens_warn_that_bits_per_character_leave_out_unk() -> None:
    at = open_home(tokenizer="word", steps="20", hidden_size="32")
    assert not at.exception
    assert any("<unk> tokens" in w.value and "look better than they are" in w.value for w in at.warning)
    assert not any("<unk> tokens" in w.value for w in open_home().warning)  # char tokens: none


def test_the_lesson_path_and_every_page_s_next_step_follow_one_list() -> None:
    home = open_home()
    assert [p.proto.label for p in home.get("page_link")] == [f"{s.title} — {s.tagline}" for s in LESSON]
    for step, following in pairwise(LESSON):
        at = open_app_page(step.path)
        assert at.title[0].value.startswith(step.title)  # the page says the navigation's words
        assert [p.proto.label for p in at.get("page_link")] == [f"Next: {following.title} — {following.tagline}"]
    assert not open_app_page(LESSON[-1].path).get("page_link")  # the last step has no next


def test_an_uploaded_text_brings_a_prompt_of_its_own_unless_one_was_typed() -> None:
    """Story's prompt on a German text or a CSV was mostly <unk> on every page."""
    german = "".join(f"Zeile {n}: Der Hafen lag still, und die Lampe brannte die ganze Nacht.\n" for n in range(12))
    at = open_home(corpus="upload", steps="20", hidden_size="16")
    at.text_area(key="lmviz_upload_paste").input(german).run()
    assert not at.exception and at.session_state["prompt"] == text_prompt(german, "char")
    assert at.session_state["prompt"].startswith("Zeile ")  # a whole line of its validation part
    at.selectbox(key="corpus").set_value("story").run()  # not the visitor's words: story's example
    assert at.session_state["prompt"] == CORPUS_PROMPTS["story"]
    typed = open_home(corpus="upload", steps="20", hidden_size="16", prompt="Der Hafen")
    typed.text_area(key="lmviz_upload_paste").input(german).run()
    assert typed.session_state["prompt"] == "Der Hafen"


def test_home_tells_the_memorising_under_its_chart_and_offers_fewer_steps() -> None:
    at = open_home(corpus="upload", steps="200", seed="31")
    at.text_area(key="lmviz_upload_paste").input(load_corpus("story")[:1500]).run()
    assert not at.exception and not [i for i in at.info if "by heart" in i.value]  # said once, below
    assert any("Validation (red) was lowest at step 60" in c.value for c in at.caption)
    assert [b.label.split(" (")[0] for b in at.button if b.key.startswith("fewer-steps-")] == [
        "Train 60 steps instead"]
