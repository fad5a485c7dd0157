"""The tokenization page (/tokenization): chips, three tokenizers side by side, the BPE stepper."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lmviz.figures.tokens import merge_rows
from lmviz.presets import DEFAULT_PROMPT
from lmviz.ui.state import UPLOAD_KEY
from lmviz.ui.tokens import MERGE_COLUMNS
from tests.app.apptest import open_app_page


def open_page(**params: str) -> AppTest:
    return open_app_page('pages/tokenization.py', **params)


def chips(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if 'class="lmviz-chips"' in m.value]


def metrics(at: AppTest) -> dict[str, int]:
    return {m.label: int(m.value.split()[0]) for m in at.metric}


def test_default_page_shows_chips_counts_and_stepper() -> None:
    at = open_page()
    assert at.main.subheader[0].value == "The prompt as characters"
    # "The keeper climbed the st": one token a word, the unknown " climbed" and " st" too (<unk>)
    assert metrics(at) == {"Characters": len(DEFAULT_PROMPT), "Word tokens": len(DEFAULT_PROMPT.split()),
                           "BPE pieces": metrics(at)["BPE pieces"]}
    assert metrics(at)["Word tokens"] < metrics(at)["BPE pieces"] < metrics(at)["Characters"]
    assert len(at.get("plotly_chart")) == 1
    # the prompt's chips, one per tokenizer, and the merge step
    assert len(chips(at)) == 5
    assert chips(at)[0].count('class="lmviz-chip"') == len(DEFAULT_PROMPT)
    assert at.slider(key="vocab_size").value == 256
    # it opens on the last of the first 10 merges that the prompt uses: one chip is outlined
    k = at.slider(key="bpe_step").value
    assert 0 < k <= 10 and any(f"Outlined chips were made by merge {k}." in c.value for c in at.caption)
    assert any(m.value.startswith('<div class="lmviz-merge"') and f"merge {k}:" in m.value
               for m in at.markdown)
    assert "2px solid" in chips(at)[-1]  # an outlined chip in the prompt's split
    at.slider(key="bpe_step").set_value(10).run()  # "␣b": not in "The keeper climbed the st"
    assert any("Merge 10 makes “␣b”, which this prompt does not contain" in c.value for c in at.caption)
    assert len(at.dataframe) == 1
    # the merges named are this BPE's first ones (a space starts a word), not a fixed example
    intro = next(m.value for m in at.markdown if "learns one merge per step" in m.value)
    assert "(this one's first two: `h` + `e` and `␣` + `t`)" in intro and "`e` + `␣`" not in intro
    # at 256 the prompt's last run "st" is a single token, and no word of story but a start of one
    assert "the last, `st`, is no word of this corpus but the start of one (as `" in intro


def test_whitespace_shows_at_first_and_the_toggle_hides_it() -> None:
    """A word's leading space is part of its token: hidden, " keeper" read "keeper"."""
    at = open_page()
    assert ">␣</span>" in chips(at)[0] and "> </span>" not in chips(at)[0]
    at.toggle(key="tok_whitespace").set_value(False).run()
    assert not at.exception
    assert "> </span>" in chips(at)[0] and ">␣</span>" not in chips(at)[0]


def test_merge_stepper_extremes() -> None:
    at = open_page()
    at.slider(key="bpe_step").set_value(0).run()
    assert not at.exception
    assert chips(at)[-1].count('class="lmviz-chip"') == len(DEFAULT_PROMPT)
    assert any("no merges yet" in m.value for m in at.markdown)
    assert any(f"**{len(DEFAULT_PROMPT)} tokens**, one per character" in c.value for c in at.caption)
    assert not any("merge 0" in c.value for c in at.caption)  # no merge 0 made anything
    last = int(at.slider(key="bpe_step").max)
    at.slider(key="bpe_step").set_value(last).run()
    assert not at.exception
    # after every merge the split is the trained BPE's own encoding
    assert chips(at)[-1].count('class="lmviz-chip"') == metrics(at)["BPE pieces"]
    assert any(f"merge {last}:" in m.value for m in at.markdown)


def test_vocabulary_slider_retrains_word_and_bpe() -> None:
    at = open_page()
    before = metrics(at)
    at.slider(key="vocab_size").set_value(2000).run()
    assert not at.exception
    after = metrics(at)
    assert after["Characters"] == before["Characters"]
    assert after["BPE pieces"] < before["BPE pieces"]
    assert at.slider(key="bpe_step").max > 1000
    at.slider(key="vocab_size").set_value(64).run()  # story's alphabet alone fills 64
    assert not at.exception
    assert any("learned no merges" in i.value and "(here 67 tokens with <unk>), so a vocabulary size of 64 "
               "leaves no room for a merge" in i.value for i in at.info)
    assert metrics(at)["BPE pieces"] == len(DEFAULT_PROMPT)
    intro = next(m.value for m in at.markdown if "learns one merge per step" in m.value)
    assert "Slide" not in intro and intro.endswith("This one learned none (below says why).")


def test_link_values_and_out_of_range_vocabulary() -> None:
    at = open_page(vocab_size="512", tokenizer="bpe")
    assert at.slider(key="vocab_size").value == 512
    assert at.subheader[0].value == "The prompt as BPE pieces"
    assert chips(at)[0] == chips(at)[3]  # the sidebar's tokenizer is the BPE column
    at = open_page(vocab_size="5000")
    assert at.slider(key="vocab_size").value == 256


def test_unknown_characters_and_html_are_shown_safely() -> None:
    prompt = "naïve <b>x</b><script>alert(1)</script> $x$"
    at = open_page(prompt=prompt, tokenizer="word")
    assert any("become <unk>" in i.value for i in at.info)
    everything = "".join(m.value for m in at.markdown)
    assert "<script" not in everything and "<b>" not in everything
    assert "&lt;unk&gt;" in chips(at)[0] and "0 · naïve" in chips(at)[0]
    assert "&lt;/b&gt;" in everything or "&lt;" in everything


def test_a_word_longer_than_a_token_can_be_is_said_to_be_cut() -> None:
    """A 300-letter word came out as five <unk> chips, unexplained."""
    at = open_page(tokenizer="word", prompt="The keeper " + "zq" * 150)
    said = next(i.value for i in at.info if "not in the vocabulary" in i.value)
    assert said.endswith("A run of more than 64 letters is cut into pieces of 64 first, each a token of its own.")
    assert "cut into pieces" not in " ".join(i.value for i in open_page(tokenizer="word", prompt="The zq").info)


def test_empty_prompt_gives_a_message() -> None:
    at = open_page()
    at.session_state["prompt"] = "   "
    at.run()
    assert not at.exception
    assert any("prompt is blank (only spaces, tabs or line breaks)" in w.value for w in at.warning)
    assert not chips(at)


def test_uploaded_text_trains_session_tokenizers() -> None:
    at = open_page(corpus="upload")
    assert any("Upload or paste your text" in i.value for i in at.info)
    at.text_area(key="lmviz_upload_paste").input("zebra quartz jukebox " * 40).run()
    assert at.session_state[UPLOAD_KEY].startswith("zebra")
    assert not at.exception
    assert at.main.subheader[0].value == "The prompt as characters"
    # the prompt comes from the text: no <unk>; a typed one with letters it never uses has them
    assert at.session_state["prompt"].startswith("zebra") and not any("become <unk>" in i.value for i in at.info)
    at.text_area(key="prompt").input("The keeper").run()
    assert any("3 tokens of the prompt are not in the vocabulary and become <unk>" in i.value for i in at.info)
    at.text_area(key="prompt").input("zebra keeper").run()  # p alone: one, in the singular
    assert any(i.value.startswith("1 token of the prompt is not in the vocabulary and becomes <unk> (id 0); "
                                  "the small text under the dashed chip shows what it was.") for i in at.info)


def test_the_merge_table_fits_half_a_desktop() -> None:
    """Every column of the merge table has a pixel width, and together they fit the half row it
    shares with the chips (about 460 px), where the default widths cut off the last column."""
    columns = merge_rows([("a", "b"), ("ab", "c")], 1)[0].keys()
    assert set(columns) == set(MERGE_COLUMNS)
    assert sum(MERGE_COLUMNS[name]["width"] for name in columns) <= 460


def test_a_prompt_s_first_word_without_its_space_is_explained() -> None:
    at = open_page(tokenizer="word", prompt="the keeper")
    assert not at.exception
    said = next(i.value for i in at.info if "not in the vocabulary" in i.value)
    assert "`the` has no space before it here" in said and "the vocabulary has `␣the`" in said
    assert any(c.value.startswith("2 tokens. The number under each chip") for c in at.caption)
    at.text_area(key="prompt").set_value("a").run()  # one of each: "1 token", not "1 tokens"
    assert any(c.value.startswith("1 token. ") for c in at.caption)
    assert metrics(at) == {"Characters": 1, "Word tokens": 1, "BPE pieces": 1}
