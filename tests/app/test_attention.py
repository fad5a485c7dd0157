"""The attention page (/attention): head grid, one head, one query step by step, induction."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from lmviz.attention_math import copy_distances, induction_targets
from lmviz.corpora import load_corpus
from lmviz.presets import COPY_LESSON, CORPUS_PROMPTS, View
from lmviz.tokenizers import TokenizerConfig, train_tokenizer
from tests.app.apptest import open_app_page


def open_page(**params: str) -> AppTest:
    return open_app_page('pages/attention.py', **params)


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button]


def test_default_page_takes_a_query_apart() -> None:
    at = open_page()
    assert charts(at) == 5  # grid, one head, query steps, weighted sum, induction scores
    assert any("which has no attention" in c.value for c in at.caption)  # the sidebar says LSTM
    last = len(CORPUS_PROMPTS["story"]) - 1
    assert at.select_slider(key="attn_query").value == last
    latex = at.latex[0].value
    assert r"\sqrt{32}" in latex and "1.000000" in latex
    assert len(at.dataframe[0].value) == last + 1

    at.selectbox(key="attn_layer").set_value(1).run()
    at.selectbox(key="attn_head").set_value(3).run()
    assert not at.exception and "Layer 1, head 3" in at.get("plotly_chart")[1].proto.spec

    at.select_slider(key="attn_query").set_value(0).run()
    assert not at.exception and r"q_{0} \cdot k_{0}" in at.latex[0].value
    assert at.selectbox(key="attn_key").options == ["0:T (weight 1.000)"]
    assert len(at.dataframe[0].value) == 1

    assert any("2 layers × 4 heads" in c.value for c in at.caption)
    assert not any("8 and 13" in c.value for c in at.caption)  # the stripes are the copy example's
    assert any("**itself and every token before it**" in m.value for m in at.markdown)  # the mask keeps the diagonal

    at.select_slider(key="attn_query").set_value(5).run()
    at.selectbox(key="attn_key").set_value(2).run()
    assert not at.exception and r"q_{5} \cdot k_{2}" in at.latex[0].value


def test_copy_lesson_loads_a_gpt_that_copies_and_the_training_page_follows() -> None:
    at = open_page(hidden_size="64", lr="0.1")
    assert any("may not have learned to copy" in c.value for c in at.caption)
    at.button(key="attn_to_copy").click().run()
    assert not at.exception and not at.warning
    assert [t.value for t in at.toast] == ["The copy lesson is loaded: corpus copy, its GPT trained "
                                           "3,000 steps, a prompt that repeats a span. The page above "
                                           "shows it now."]  # the click was far below what changed
    state = at.session_state
    assert (state["corpus"], state["model"], state["hidden_size"], state["lr"], state["steps"]) == (
        "copy", "gpt", 128, COPY_LESSON["lr"], COPY_LESSON["steps"])
    assert state["prompt"] == CORPUS_PROMPTS["copy"] and "attn_to_copy" not in buttons(at)
    assert charts(at) == 5
    assert any("fell most between steps" in c.value and "copy head forming" in c.value
               for c in at.caption)
    assert any("layer-1 head can then look for the position" in c.value for c in at.caption)
    assert any("In the copy head's map above, the second copy of a span shows as a stripe parallel to the "
               "diagonal, 8 and 13 tokens to its left on the example's two lines" in c.value for c in at.caption)
    assert "attn_best" not in buttons(at)  # the lesson opens on its best head: no button to it
    label = next(c.value for c in at.caption if c.value.startswith("The head above is this one's best: "))
    layer, head = int(label.split()[8].rstrip(",")), int(label.split()[10])
    assert re.search(r"\(highest score, \d\.\d{3}\)\.$", label)  # 0.30 can be a tie at two decimals
    assert layer == 1  # an induction head needs a layer before it
    # the lesson opens on that head: the map the captions describe
    assert (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value) == (layer, head)
    # a scaled score of 38.7 is not "moderate": the caption says the head made it large
    assert any("make its scores large on purpose" in c.value for c in at.caption)
    # ... on a repeat whose row copies: its top key comes right after an earlier occurrence of it
    query, top_key = at.select_slider(key="attn_query").value, at.selectbox(key="attn_key").value
    prompt = CORPUS_PROMPTS["copy"]  # char tokens: one per character
    assert query < len(prompt) - 1 and prompt[top_key - 1] == prompt[query] and top_key <= query
    at.selectbox(key="attn_head").set_value((head + 1) % 4).run()  # elsewhere, and back by the button
    assert at.button(key="attn_best").label.endswith(") above")
    at.button(key="attn_best").click().run()
    assert not at.exception
    assert (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value) == (layer, head)
    assert f"Layer {layer}, head {head} is now the head in **One head** above." in [t.value for t in at.toast]

    at.session_state["vocab_size"] = 257  # the Tokenization slider, for word and BPE: still the lesson
    at.run()
    assert not at.exception and "attn_to_copy" not in buttons(at)
    assert not any("may not have learned to copy" in c.value for c in at.caption)

    at.switch_page("pages/training.py").run()  # the lesson's settings are the Training page's
    assert not at.exception and not at.warning
    assert at.select_slider(key="lr").value == COPY_LESSON["lr"]
    assert at.select_slider(key="steps").value == COPY_LESSON["steps"]
    # it ships with the app, so the page shows it before Train is pressed
    assert any("Already trained" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2 and any(m.label == "Validation loss" for m in at.metric)


def test_unknown_words_are_no_repeat_and_counts_are_worded_in_the_right_number() -> None:
    at = open_page(model="gpt", tokenizer="word", layers="1", heads="1", steps="20", hidden_size="32",
                   prompt="The keeper and the stairs and")
    captions = " ".join(c.value for c in at.caption)
    assert "1 layer × 1 head, head size d = 32, 6 tokens" in captions  # " stairs": one <unk>
    assert "Measured over 1 repeated token." in captions  # '␣and' (not 'The' and '␣the')
    at.text_area(key="prompt").set_value("zzqx blorf").run()  # two different unknown words
    assert not at.exception and any("nothing to copy" in i.value for i in at.info)
    at.text_area(key="prompt").set_value("zzqx zzqx").run()  # a repeat, but of <unk>s only: said so
    assert not any("nothing to copy" in i.value for i in at.info)
    assert any(i.value.startswith("What repeats in this prompt is outside the vocabulary") for i in at.info)


def test_the_copy_lesson_s_captions_point_at_its_head_only_while_it_is_shown() -> None:
    """A prompt that repeats nothing opened the lesson on layer 0, head 0, and the example after
    it stayed there, under "In the copy head's map above, … a stripe" and "The query above
    opened where this head copies most clearly"."""
    at = open_page(corpus="copy", model="gpt", steps=str(COPY_LESSON["steps"]), lr=str(COPY_LESSON["lr"]),
                   prompt="abc")
    assert (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value) == (0, 0)
    at.button(key="attn_copy_prompt").click().run()
    assert not at.exception and at.session_state["prompt"] == CORPUS_PROMPTS["copy"]
    best = (at.selectbox(key="attn_layer").value, at.selectbox(key="attn_head").value)
    assert best == (1, 1) and "attn_best" not in buttons(at)  # the copy head, as on a fresh link
    captions = " ".join(c.value for c in at.caption)
    assert "In the copy head's map above" in captions and "opened where this head copies" in captions
    at.selectbox(key="attn_layer").set_value(0).run()  # another head above: "would", no "opened"
    captions = " ".join(c.value for c in at.caption)
    assert "In the copy head's map above" not in captions and "opened where this head copies" not in captions
    assert "A copy head's map would show the second copy of a span as a stripe" in captions


def test_long_prompt_is_truncated_to_the_context() -> None:
    at = open_page(prompt="the keeper " * 20)
    assert any("longer than the model's context" in i.value for i in at.info)
    assert len(at.select_slider(key="attn_query").options) == 64 and charts(at) == 5
    head_map = at.get("plotly_chart")[1].proto.spec
    assert '"labelalias"' in head_map and '"63":"63:' in head_map  # every query labelled


def test_bad_and_tiny_prompts() -> None:
    at = open_page()
    at.text_area(key="prompt").set_value("").run()
    assert not at.exception and any("empty" in w.value for w in at.warning) and charts(at) == 0

    at.text_area(key="prompt").set_value("T").run()  # one token: no slider, one key
    assert not at.exception and not at.main.select_slider and r"q_{0} \cdot k_{0}" in at.latex[0].value
    assert any("nothing to copy" in i.value for i in at.info)

    at.text_area(key="prompt").set_value("<b>x</b><script>").run()
    chips = next(m.value for m in at.markdown if "lmviz-chips" in m.value)
    assert not at.exception and "<script>" not in chips and "<b>" not in chips and "&lt;" in chips


def test_a_blown_up_training_setting_says_so_and_resets_from_the_sidebar() -> None:
    """Every page trains with the Training page's settings: a learning rate that blows up
    breaks this page too, and the sidebar names the settings and resets them."""
    at = open_page(lr="3", clip="0")
    assert not at.exception
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "Training page's settings: learning rate 3, clipping off" in said
    assert any("diverged" in e.value and "learning rate 3, clipping off" in e.value for e in at.error)
    assert charts(at) == 0
    at.sidebar.button(key="reset_training").click().run()
    assert not at.exception and not at.error and charts(at) == 5
    assert (at.session_state["lr"], at.session_state["clip"]) == (0.01, 1.0)
    assert "lr" not in at.query_params and "reset_training" not in buttons(at)


def test_choices_made_for_another_model_or_text_start_over() -> None:
    """A head picked on one model, or a query and key picked on one prompt, would point at
    something else on another: they go back to their defaults (a fresh link's view)."""
    at = open_page()
    at.selectbox(key="attn_head").set_value(3).run()
    at.select_slider(key="attn_query").set_value(5).run()
    at.selectbox(key="attn_key").set_value(0).run()
    assert at.selectbox(key="attn_key").value == 0
    at.select_slider(key="attn_query").set_value(6).run()  # another query: its own top key
    top = at.selectbox(key="attn_key").value
    assert at.selectbox(key="attn_head").value == 3 and top == int(at.dataframe[0].value["weight"].idxmax())
    at.text_area(key="prompt").set_value("The lamp was lit").run()
    assert not at.exception and at.selectbox(key="attn_head").value == 3  # same model: kept
    assert at.select_slider(key="attn_query").value == len("The lamp was lit") - 1
    at.selectbox(key="corpus").set_value("brackets").run()
    assert not at.exception and at.selectbox(key="attn_head").value == 0  # another model


def test_heads_that_do_not_split_the_width_are_said_here_too() -> None:
    """The sidebar keeps Heads 3, the GPT of width 128 has 2: the page says why it shows 2."""
    at = open_page(heads="3", steps="10")
    caption = next(c.value for c in at.caption if "head size d" in c.value)
    assert "2 heads" in caption and "does not split into 3 heads: 2 heads are used" in caption


def test_the_copy_example_s_stripes_are_counted_in_this_tokenizer_s_tokens() -> None:
    """'8 and 13' are characters: BPE tokens put the example's copies fewer tokens apart."""
    at = open_page(corpus="copy", model="gpt", tokenizer="bpe", hidden_size="32", steps="20",
                   prompt=CORPUS_PROMPTS["copy"])
    said = next(c.value for c in at.caption if "stripe parallel to the diagonal" in c.value)
    assert "A copy head's map would show" in said  # this one may not have learned to copy
    bpe = train_tokenizer(load_corpus("copy"), TokenizerConfig("bpe", View().vocab_size))  # the run's
    expected = copy_distances(induction_targets(bpe.encode(CORPUS_PROMPTS["copy"]).ids, bpe.unk_id))
    assert expected != [8, 13] and len(expected) == 2  # 4 and 8 BPE tokens
    assert f"{expected[0]} and {expected[1]} tokens to its left on the example" in said
