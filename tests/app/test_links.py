"""Links across pages: every spelling of a value opens the view it names, and whatever the app
changes in a link or a typed prompt, it says so in the words the controls show."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from lmviz.presets import MAX_PROMPT_CHARS
from tests.app.apptest import open_app_page


def notes(at) -> list[str]:
    return [w.value for w in at.warning]


def test_values_spelled_another_way_reach_the_training_controls_and_the_link_spells_them_so() -> None:
    """"10.0" is 10, but a select slider bound to the link recognised only "10" and dropped the
    value without a note: the link is rewritten to the controls' spelling first."""
    at = open_app_page("pages/training.py", lr="10.0", steps="3e1", context="128.0",
                       hidden_size="64.0", clip="0.0")
    assert notes(at) == []
    assert at.select_slider(key="lr").value == 10.0 and at.select_slider(key="steps").value == 30
    assert at.select_slider(key="context").value == 128 and at.select_slider(key="hidden_size").value == 64
    assert at.slider(key="clip").value == 0.0
    assert at.query_params == {"lr": "10", "steps": "30", "context": "128", "hidden_size": "64", "clip": "0"}


def test_a_learning_rate_the_slider_does_not_offer_falls_back_with_a_note() -> None:
    at = open_app_page("pages/training.py", lr="0.005")
    assert at.select_slider(key="lr").value == 0.01 and "lr" not in at.query_params
    assert any("Ignored lr=`0.005`" in note for note in notes(at))


def test_a_repeated_parameter_keeps_its_last_value_with_a_note() -> None:
    at = open_app_page("pages/sampling.py", temperature=["0.3", "0.5"])
    assert at.slider(key="temperature").value == 0.5 and at.query_params["temperature"] == "0.5"
    assert any("sets temperature twice" in note and "using the last" in note for note in notes(at))


def test_a_note_names_the_default_the_slider_shows() -> None:
    """Steps and layers of 0 stand for the family's default: the note names what the slider
    shows ("default (600)"), not the 0 behind it."""
    at = open_app_page("pages/training.py", steps="7", layers="9", model="gpt")
    for key in ("steps", "layers"):
        slider = at.select_slider(key=key)
        (shown,) = [label for label in slider.options if label.startswith("default (")]  # "default (600)"
        assert slider.value == 0
        (note,) = [note for note in notes(at) if note.startswith(f"Ignored {key}=")]
        assert note.endswith(f"using the model's {shown}.")  # a sentence, with its full stop


def test_the_link_to_a_view_with_an_empty_prompt_opens_without_a_note() -> None:
    at = open_app_page(None, temperature="0.5")
    at.text_area(key="prompt").set_value("").run()
    (link,) = [c.value for c in at.sidebar.code]
    query = parse_qs(urlsplit(link).query, keep_blank_values=True)
    assert query == {"temperature": ["0.5"]}
    shared = open_app_page(None, **{k: v[-1] for k, v in query.items()})
    assert notes(shared) == []


def test_a_long_typed_prompt_is_cut_like_a_link_s_with_a_note() -> None:
    """The box has no max_chars (the browser refused a longer paste without a word): the app
    cuts the text and says so, as for a link."""
    at = open_app_page(None)
    box = at.text_area(key="prompt")
    assert not box.max_chars
    box.set_value("the keeper " * 60).run()  # 660 characters
    assert not at.exception and at.session_state["prompt"] == ("the keeper " * 60)[:MAX_PROMPT_CHARS]
    assert at.text_area(key="prompt").value == at.session_state["prompt"]
    assert f"only its first {MAX_PROMPT_CHARS} are used" in " ".join(notes(at))
    at.text_area(key="prompt").set_value("the keeper").run()
    assert at.session_state["prompt"] == "the keeper" and notes(at) == []


def test_a_link_without_a_prompt_opens_on_its_corpus_s_example_prompt() -> None:
    """A link to word tokens opened on story's mid-word prompt, whose "st" was <unk>."""
    at = open_app_page("pages/tokenization.py", tokenizer="word")
    assert at.text_area(key="prompt").value == "The keeper went up to the" and notes(at) == []
    assert "prompt" not in at.query_params  # the box opens on it: Back to the link brings it back
    (link,) = [c.value for c in at.sidebar.code]
    assert parse_qs(urlsplit(link).query) == {"tokenizer": ["word"]}  # it opens on that prompt anyway


def test_a_link_s_note_is_said_until_its_setting_changes() -> None:
    """"using 1.0" was still said on every page after the Temperature moved, and "only its first
    500 are used" after the prompt was emptied."""
    at = open_app_page("pages/sampling.py", temperature="abc", prompt="ab" * 300)
    assert any(note.startswith("Ignored temperature=") for note in notes(at))
    assert any("only its first 500 are used" in note for note in notes(at))
    at.slider(key="temperature").set_value(0.95).run()
    assert not any(note.startswith("Ignored temperature=") for note in notes(at))
    at.slider(key="temperature").set_value(1.0).run()  # back to the value it announced: gone for good
    assert not any(note.startswith("Ignored temperature=") for note in notes(at))
    assert any("only its first 500 are used" in note for note in notes(at))  # the prompt is as cut
    at.text_area(key="prompt").input("my own words").run()
    assert not at.exception and notes(at) == []
