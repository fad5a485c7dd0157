"""Views from links, the configs a view trains, and the CLI arguments that reproduce them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lmviz.cli import build_parser, cli_text, train_configs
from lmviz.corpora import load_corpus, split_text
from lmviz.presets import (
    COPY_LESSON,
    CORPUS_PROMPTS,
    DEFAULT_LAYERS,
    LEARNING_RATES,
    View,
    clean_link,
    cli_args,
    configs,
    copy_lesson,
    example_prompt,
    family_options,
    is_copy_lesson,
    is_example_prompt,
    parse_params,
    text_prompt,
    to_params,
)
from lmviz.run import run_key
from lmviz.tokenizers import TokenizerConfig, train_tokenizer


def test_context_and_precision_come_from_the_link_and_reach_the_configs() -> None:
    view, notes = parse_params({"context": "128", "precision": "bf16", "model": "gpt"})
    assert notes == [] and view.context == 128 and view.precision == "bf16"
    _, model, train = configs(view)
    assert model.context == 128 and train.precision == "bf16"
    assert to_params(view) == {"context": "128", "precision": "bf16", "model": "gpt"}


@pytest.mark.parametrize("name, raw", [("context", "100"), ("context", "4096"), ("precision", "fp16"),
                                       ("precision", ""), ("hidden_size", "300")])
def test_values_a_link_cannot_use_fall_back_with_a_note(name: str, raw: str) -> None:
    view, notes = parse_params({name: raw})
    assert getattr(view, name) == getattr(View(), name)
    assert len(notes) == 1 and name in notes[0]


def test_a_link_is_cleaned_of_what_this_machine_cannot_use() -> None:
    raw = {"seed": "inf", "vocab_size": "1", "steps": "12.5", "hidden_size": "1024", "context": "256",
           "prompt": "ab" * 400, "model": "gpt", "attn_layer": "1"}
    cleaned, notes = clean_link(raw)
    assert cleaned == {"prompt": "ab" * 250, "model": "gpt", "attn_layer": "1"}  # not a View's: kept
    assert [note.split("=")[0].split()[-1] for note in notes[:5]] == [
        "seed", "vocab_size", "steps", "hidden_size", "context"]
    assert "only on a machine with a GPU" in notes[3] and "first 500 are used" in notes[5]
    on_a_gpu, gpu_notes = clean_link({"hidden_size": "1024", "context": "256"}, gpu=True)
    assert on_a_gpu == {"hidden_size": "1024", "context": "256"} and gpu_notes == []
    lesson = to_params(copy_lesson(View()))  # its prompt is copy's example: the link opens on it
    assert clean_link(lesson) == (lesson, []) and "prompt" not in lesson
    # Steps moves by 10 on the Training page: 25 would show as the default there yet train 25
    assert clean_link({"steps": "25"})[0] == {} and clean_link({"steps": "30"})[0] == {"steps": "30"}


@pytest.mark.parametrize("view", [View(), View(model="gpt"), View(model="gru", context=32),
                                  View(model="gpt", hidden_size=384, layers=6, heads=8, context=256,
                                       precision="bf16", tokenizer="bpe", vocab_size=300, seed=3),
                                  View(corpus="brackets", seed=3)])
def test_cli_arguments_train_what_the_app_trains(view: View) -> None:
    """scripts/ship_runs.py trains the app's default runs with the CLI: same configs, same key."""
    args = build_parser().parse_args(["train", *cli_args(view)])
    from_cli = train_configs(args)
    tokenizer, model, train = configs(view)
    assert from_cli[0] == tokenizer and from_cli[1] == model
    # the same reports too: a shipped run's history is what the app would have recorded
    assert from_cli[2] == replace(train, sample_tokens=0, device=from_cli[2].device)
    text = load_corpus(view.corpus)  # the app's; and the CLI's, whatever its --seed
    assert cli_text(args) == text and run_key(text, *from_cli) == run_key(text, tokenizer, model, train)


def test_the_copy_lesson_trains_a_gpt_long_and_slow_whatever_was_set_before() -> None:
    tinkered = View(corpus="story", model="lstm", hidden_size=64, layers=3, lr=0.1, seed=7,
                    temperature=0.5, prompt="hi")
    lesson = copy_lesson(tinkered)
    assert is_copy_lesson(lesson) and not is_copy_lesson(tinkered) and not is_copy_lesson(View())
    assert lesson == replace(View(), **COPY_LESSON, prompt=CORPUS_PROMPTS["copy"], temperature=0.5)
    _, model, train = configs(lesson)
    assert (model.family, train.lr, train.steps) == ("gpt", 1e-3, 3000)
    # the LSTM it is compared with trains as long, at its own default depth
    _, lstm, lstm_train = configs(lesson, "lstm")
    assert (lstm.layers, lstm_train.lr, lstm_train.steps) == (1, 1e-3, 3000)
    assert is_copy_lesson(replace(lesson, prompt="abc abc", top_k=5))  # prompt and sampling aside
    assert not is_copy_lesson(replace(lesson, seed=1))
    # what it trains: a char tokenizer has no vocabulary size (the Tokenization slider's is for
    # word and BPE); with BPE tokens it is another model
    assert is_copy_lesson(replace(lesson, vocab_size=257))
    assert not is_copy_lesson(replace(lesson, vocab_size=257, tokenizer="bpe"))
    assert parse_params(to_params(lesson)) == (lesson, [])  # a link carries it


@pytest.mark.parametrize("name, raw, spelled", [
    ("lr", "10.0", "10"), ("lr", "3e-3", "0.003"), ("lr", "3.0", "3"), ("steps", "30.0", "30"),
    ("steps", "3e1", "30"), ("context", "128.0", "128"), ("hidden_size", "256.0", "256"),
    ("clip", "0.0", "0"), ("seed", "07", "7")])
def test_a_value_spelled_another_way_is_kept_spelled_as_its_control_spells_it(
        name: str, raw: str, spelled: str) -> None:
    """A select slider bound to the link recognises only its own spelling ("10", not "10.0"):
    the link is rewritten to it instead of the value being dropped without a word."""
    assert clean_link({name: raw}) == ({name: spelled}, [])
    view, notes = parse_params({name: raw})
    assert notes == [] and to_params(view) == {name: spelled}


def test_a_link_carries_every_learning_rate_the_training_page_offers_and_no_other() -> None:
    for lr in LEARNING_RATES:
        assert parse_params(to_params(View(lr=lr))) == (View(lr=lr), [])
    view, notes = parse_params({"lr": "0.005"})  # in range, but not on the slider
    assert view.lr == View().lr and notes == ["Ignored lr=`0.005` from the link (allowed: one of 0.0001, "
                                              "0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10); using 0.01"]


@pytest.mark.parametrize("name, raw", [
    ("clip", "0.3"), ("dropout", "0.07"), ("temperature", "0.333"), ("clip", "1e308"),
    ("temperature", "-1e308"), ("top_p", "1e300"),  # steps of 0.05 to 1e300 overflowed round()
    ("top_p", "0.51"), ("steps", "35")])
def test_a_value_between_a_slider_s_steps_is_dropped_with_a_note(name: str, raw: str) -> None:
    """The slider could not show it (it reads 0.30 but moves to 0 or 0.5)."""
    view, notes = parse_params({name: raw})
    assert getattr(view, name) == getattr(View(), name)
    assert notes and notes[0].startswith(f"Ignored {name}=`{raw}` from the link (allowed: ")


@pytest.mark.parametrize("name, raw, value", [
    ("clip", "2.5", 2.5), ("dropout", "0.15", 0.15), ("temperature", "0.35000000001", 0.35),
    ("top_p", "0.05", 0.05), ("temperature", "0", 0.0), ("clip", "1e-320", 0.0)])
def test_a_value_on_a_slider_s_steps_is_kept_as_the_slider_shows_it(name: str, raw: str, value: float) -> None:
    """Within float noise of a step, it is that step: clip=1e-320 once read "0.00" on the
    slider (clipping off) while every gradient was clipped to nothing; now it is 0."""
    view, notes = parse_params({name: raw})
    assert notes == [] and getattr(view, name) == value


def test_a_repeated_parameter_keeps_its_last_value_with_a_note() -> None:
    cleaned, notes = clean_link({"temperature": ["0.3", "0.5"], "attn_layer": ["1", "2"]})
    assert cleaned == {"temperature": "0.5", "attn_layer": ["1", "2"]}  # not a View's: kept
    assert notes == ["The link sets temperature twice (`0.3`, `0.5`): using the last"]
    assert parse_params({"steps": ["30", "7"]})[0].steps == View().steps  # the last is checked too
    (many,) = clean_link({"seed": [str(n) for n in range(3000)]})[1]  # a note, not a page of values
    assert many == ("The link sets seed 3,000 times (`0`, `1`, `2`, … 2,996 more …, `2999`): "
                    "using the last")


def test_a_link_s_value_in_a_note_is_shown_literally_never_as_markup() -> None:
    """The notes are markdown on the page: a link's own value there made a link, bold or an
    image (loaded in the visitor's browser) inside the app's warning. The value's repr (line
    breaks spelled out) stands in a code span, fenced past any backticks inside it. (Escaping
    markup was not enough: a web address in it stayed a link; the e2e test shows none.)"""
    (note,) = clean_link({"seed": "![x](http://example.com/p.png)"})[1]
    assert note.startswith("Ignored seed=`![x](http://example.com/p.png)` from the link")
    repeated, _ = clean_link({"top_k": ["**b**", "a\n\n<i>$x$</i>"]})[1]
    assert repeated == "The link sets top_k twice (`**b**`, `'a\\n\\n<i>$x$</i>'`): using the last"
    (fenced,) = clean_link({"seed": "``x`"})[1]
    assert fenced.startswith("Ignored seed=``` ``x` ``` from the link")


@pytest.mark.parametrize("params, shown", [({"steps": "7"}, "the model's default (600)"),
                                           ({"layers": "9"}, "the model's default (1)"),
                                           ({"layers": "9", "model": "gpt"}, "the model's default (2)"),
                                           ({"layers": "9", "model": "nonsense"}, "the model's default (1)"),
                                           ({"lr": "100"}, "0.01")])
def test_a_note_names_the_default_as_the_control_shows_it(params: dict, shown: str) -> None:
    """Steps and layers of 0 mean the family's default: the note says that, never "using 0"."""
    name = next(iter(params))
    (note,) = [note for note in clean_link(params)[1] if note.startswith(f"Ignored {name}=")]
    assert note.endswith(f"; using {shown}")


@pytest.mark.parametrize("prompt", ["", "   "])
def test_a_link_leaves_an_empty_prompt_out(prompt: str) -> None:
    """A link's empty prompt is refused with a note: the view's link does not carry it."""
    view = View(prompt=prompt, temperature=0.5)
    assert to_params(view) == {"temperature": "0.5"}
    assert parse_params(to_params(view))[1] == []


def test_an_empty_prompt_in_a_link_is_said_plainly() -> None:
    view, notes = parse_params({"prompt": "  "})
    assert view.prompt == View().prompt and notes == ["The link's prompt is empty: using the corpus's example prompt"]


def test_layers_and_steps_put_the_family_default_where_its_number_would_be() -> None:
    assert family_options("layers", "lstm") == [0, 2, 3, 4, 5, 6]
    assert family_options("layers", "gpt") == [1, 0, 3, 4, 5, 6]
    steps = family_options("steps", "lstm")
    assert steps[:2] == [10, 20] and steps[58:61] == [590, 0, 610] and steps[-1] == 5000
    assert 600 not in steps and len(steps) == 500
    for family in DEFAULT_LAYERS:  # 0 is always an option: the sliders open on it
        assert family_options("layers", family).count(0) == family_options("steps", family).count(0) == 1


@pytest.mark.parametrize(("params", "kept"), [
    ({"layers": "2", "model": "gpt", "steps": "600"}, {"model": "gpt"}),  # the defaults, spelled out
    ({"layers": "1"}, {}),
    ({"layers": "2", "steps": "610"}, {"layers": "2", "steps": "610"}),
    ({"layers": "1", "model": "gpt"}, {"layers": "1", "model": "gpt"}),
    ({"layers": "0", "steps": "0"}, {"layers": "0", "steps": "0"}),
])
def test_a_family_default_spelled_out_in_a_link_reads_as_the_default(params: dict, kept: dict) -> None:
    assert clean_link(params) == (kept, [])


def test_the_sampling_draw_travels_in_the_link_within_its_range() -> None:
    assert to_params(replace(View(), draw=3)) == {"draw": "3"} and "draw" not in to_params(View())
    assert parse_params({"draw": "3"})[0].draw == 3
    view, notes = parse_params({"draw": "10000"})
    assert view.draw == 0 and notes and notes[0].startswith("Ignored draw=")


def test_the_example_prompt_suits_the_tokenizer() -> None:
    assert example_prompt("story", "char") == example_prompt("story", "bpe") == CORPUS_PROMPTS["story"]
    assert example_prompt("story", "word") == "The keeper went up to the"  # ends on a word
    assert example_prompt("brackets", "word") == CORPUS_PROMPTS["brackets"]
    assert example_prompt("upload", "char") is None
    assert is_example_prompt("The keeper went up to the") and not is_example_prompt("my own words")


@pytest.mark.parametrize(("params", "prompt"), [
    ({"corpus": "brackets"}, CORPUS_PROMPTS["brackets"]),
    ({"tokenizer": "word"}, "The keeper went up to the"),
    ({"corpus": "agreement", "tokenizer": "word"}, CORPUS_PROMPTS["agreement"]),
    ({"corpus": "brackets", "prompt": " "}, CORPUS_PROMPTS["brackets"]),  # refused: the example
    ({"corpus": "brackets", "prompt": "x = 1"}, "x = 1"),
    ({"corpus": "upload"}, View().prompt),
    ({}, View().prompt),
])
def test_a_link_without_a_prompt_opens_on_its_corpus_s_example(params: dict, prompt: str) -> None:
    """Story's words on `brackets` were mostly <unk>, and its mid-word "st" was <unk> to a word
    tokenizer."""
    assert parse_params(params)[0].prompt == prompt


@pytest.mark.parametrize("view", [View(corpus="brackets"), View(corpus="brackets", prompt=View().prompt),
                                  View(tokenizer="word", prompt="The keeper went up to the"),
                                  View(tokenizer="word"), View(corpus="copy", prompt="abc abc"), View()])
def test_a_view_s_link_opens_on_its_prompt(view: View) -> None:
    """The link leaves the prompt out only where it opens on it anyway."""
    params = to_params(view)
    assert parse_params(params) == (view, [])
    assert ("prompt" in params) == (view.prompt != parse_params({**params, "prompt": " "})[0].prompt)


@pytest.mark.parametrize("corpus", ["story", "agreement"])  # the others: random names and symbols
def test_the_word_example_has_no_unknown_word_at_the_default_vocabulary(corpus: str) -> None:
    """"The keeper climbed the" read "climbed" as <unk> at 256 words: every page then warned."""
    tokenizer = train_tokenizer(load_corpus(corpus), TokenizerConfig("word", View().vocab_size))
    assert tokenizer.encode(example_prompt(corpus, "word")).unknown == []


def test_a_link_note_names_its_setting_and_survives_a_copy() -> None:
    import copy
    import pickle

    (note,) = clean_link({"temperature": "abc"})[1]
    assert note.setting == "temperature" and note.startswith("Ignored temperature=")
    for twin in (copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert twin == note and twin.setting == "temperature"


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_heads_train_the_gpt_only(family: str) -> None:
    """heads=2 in a link retrained an identical LSTM, and hid its shipped run."""
    text = load_corpus("story")
    assert run_key(text, *configs(View(heads=2), family)) == run_key(text, *configs(View(), family))
    assert run_key(text, *configs(View(heads=2), "gpt")) != run_key(text, *configs(View(), "gpt"))


def test_an_uploaded_text_s_prompt_is_a_line_the_model_never_trained_on() -> None:
    text = "".join(f"line {n} of the text, which goes on for a good while here\n" for n in range(40))
    prompt = text_prompt(text, "char")
    assert len(prompt) == 40 and prompt in split_text(text)[1] and prompt not in split_text(text)[0]
    assert text_prompt(text, "word") == prompt.rsplit(" ", 1)[0]  # cut on a space for word tokens
    assert text_prompt("a,b\n1,2\n", "char") == "a,b" and text_prompt("\n\n", "char") == ""
