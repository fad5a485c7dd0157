"""Token chips, tokenizer comparison and BPE merge steps (lmviz/figures/tokens.py)."""

from __future__ import annotations

import re

import pytest

from lmviz.figures.style import ACCENT, token_color
from lmviz.figures.tokens import (
    CLIP,
    Chip,
    TokenCount,
    chips_html,
    count_tokens,
    encoding_chips,
    figure_tokenizer_comparison,
    first_merges_markdown,
    known_with_a_space,
    merge_chips,
    merge_html,
    merge_rows,
    merge_step,
    merges_outcome,
    spaced_words_sentence,
    unknown_originals,
    unknown_tokens_sentence,
)
from lmviz.tokenizers import (
    UNK,
    BPETokenizer,
    TokenizerConfig,
    different_words,
    train_tokenizer,
    whole_words,
)

TEXT = "the keeper climbed the stairs"


def test_count_tokens_per_kind(story: str, story_bpe: BPETokenizer) -> None:
    char = train_tokenizer(story, TokenizerConfig("char"))
    counts = {t.kind: count_tokens(t, TEXT) for t in (char, story_bpe)}
    assert counts["char"] == TokenCount("char", char.vocab_size, len(TEXT), len(TEXT), 0)
    assert counts["char"].chars_per_token == 1.0
    assert counts["bpe"].tokens < len(TEXT)
    assert counts["bpe"].chars_per_token == pytest.approx(len(TEXT) / counts["bpe"].tokens)
    assert TokenCount("word", 10, 0, 0, 0).chars_per_token == 0.0
    assert count_tokens(char, "aé€").unknown == 2


def test_encoding_chips_keep_what_unk_replaced(story: str) -> None:
    char = train_tokenizer(story, TokenizerConfig("char"))
    text = "aé b"
    encoding = char.encode(text)
    chips = encoding_chips(encoding, text)
    assert [c.piece for c in chips] == ["a", UNK, " ", "b"]
    assert [c.token_id for c in chips] == encoding.ids
    assert [c.original for c in chips] == ["", "é", "", ""]


def test_merge_step_walks_the_merges(story_bpe: BPETokenizer) -> None:
    total = len(story_bpe.merges)
    start = merge_step(story_bpe, TEXT, 0)
    assert start.pair is None and start.merged is None and start.pieces == list(TEXT)
    counts = []
    for k in (1, 2, 10, 50, total):
        step = merge_step(story_bpe, TEXT, k)
        assert step.pair == story_bpe.merges[k - 1]
        assert step.merged == "".join(story_bpe.merges[k - 1])
        assert "".join(step.pieces) == TEXT
        counts.append(len(step.pieces))
    assert counts == sorted(counts, reverse=True)  # merges only ever shorten the text
    assert merge_step(story_bpe, TEXT, total).pieces == story_bpe.encode(TEXT).pieces
    assert merge_step(story_bpe, TEXT, total + 99).step == total
    assert merge_step(story_bpe, TEXT, -3).step == 0


def test_merge_chips_highlight_the_latest_merge(story_bpe: BPETokenizer) -> None:
    k = next(i + 1 for i, pair in enumerate(story_bpe.merges) if "".join(pair) in TEXT)
    step = merge_step(story_bpe, TEXT, k)
    chips = merge_chips(step, story_bpe.index, TEXT)
    assert [c.piece for c in chips] == step.pieces
    assert all(c.token_id == story_bpe.index[c.piece] for c in chips)
    assert {c.piece for c in chips if c.highlight} == {step.merged}


def test_unknown_originals_align_with_the_text() -> None:
    assert unknown_originals(["ab", UNK, " c", UNK], "abé cü") == ["", "é", "", "ü"]
    assert unknown_originals(["ab", "x"], "abc") == ["", ""]  # pieces that do not line up
    assert unknown_originals(["ab"], "abc") == [""]  # text left over
    assert unknown_originals([], "") == []


def test_chips_html_escapes_and_shows_ids() -> None:
    chips = [Chip("<script>", 3), Chip(" a$b", 7), Chip(UNK, 0, "é"), Chip("\n", 4, highlight=True)]
    out = chips_html(chips)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&lt;unk&gt;" in out and "0 · é" in out
    assert "$" not in out and "&#36;" in out
    assert "\n" not in out and "↵" in out
    assert token_color(3) in out and token_color(7) in out
    assert f"2px solid {ACCENT}" in out
    assert ">3<" in out and ">7<" in out
    assert "> a&#36;b</span>" in out  # the label keeps a real space; the tooltip shows ␣
    assert ">␣a&#36;b</span>" in chips_html(chips, whitespace=True)
    assert out.count('class="lmviz-chip"') == 4
    assert chips_html([]).startswith('<div class="lmviz-chips"')


def test_chips_html_has_no_carriage_return() -> None:
    """Markdown ends a line at a carriage return too: two of them made a blank line that ended
    the HTML block, and the text after it was read as markdown (an image from a link's prompt)."""
    chips = [Chip("\r\r", 5), Chip(UNK, 0, "\r\r![x](http://example.com/p.png)")]
    for whitespace in (False, True):
        out = chips_html(chips, whitespace=whitespace)
        assert "\r" not in out and "\n" not in out and "␍␍" in out


def test_merge_html_and_rows(story_bpe: BPETokenizer) -> None:
    assert merge_html(merge_step(story_bpe, TEXT, 0), story_bpe.index) == ""
    step = merge_step(story_bpe, TEXT, 3)
    out = merge_html(step, story_bpe.index, whitespace=True)
    assert out.startswith('<div class="lmviz-merge"') and "merge 3:" in out
    assert out.count('class="lmviz-chip"') == 3
    rows = merge_rows(story_bpe.merges, 3)
    assert [r["merge"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["learned (≤ k)"] for r in rows] == ["✓"] * 3 + [""] * 4
    assert [r["in the prompt"] for r in rows] == [""] * 7  # no pieces given
    split = merge_step(story_bpe, TEXT, 3).pieces
    shown = merge_rows(story_bpe.merges, 3, pieces=split)
    assert [r["in the prompt"] == "✓" for r in shown[:3]] == [
        "".join(pair) in split for pair in story_bpe.merges[:3]]
    assert all(r["in the prompt"] == "" for r in shown[3:])  # not learned yet
    left, right = story_bpe.merges[2]
    assert rows[2]["new token"] == (left + right).replace(" ", "␣")
    total = len(story_bpe.merges)
    assert [r["merge"] for r in merge_rows(story_bpe.merges, total, around=2)] == [total - 2, total - 1, total]
    assert merge_rows([], 0) == []


def test_first_merges_are_the_tokenizers_own(story_bpe: BPETokenizer) -> None:
    # this BPE puts the space before a word: its first merges are h + e, then ␣ + t
    assert story_bpe.merges[:2] == [("h", "e"), (" ", "t")]
    assert first_merges_markdown(story_bpe.merges) == "`h` + `e` and `␣` + `t`"
    assert first_merges_markdown(story_bpe.merges, 3) == "`h` + `e`, `␣` + `t` and `␣` + `a`"
    assert first_merges_markdown([("`", "x")], 2) == "`` ` `` + `x`"
    # a merge of backticks (an uploaded markdown file's code fences) needs a longer fence
    assert first_merges_markdown([("``", "`")], 1) == "``` `` ``` + `` ` ``"
    assert first_merges_markdown([]) == ""


def test_figure_tokenizer_comparison() -> None:
    counts = [TokenCount("char", 60, 30, 30, 0), TokenCount("word", 256, 6, 30, 1),
              TokenCount("bpe", 256, 12, 30, 0)]
    fig = figure_tokenizer_comparison(counts, "title")
    bar, unknown = fig.data
    assert bar.type == "bar"
    assert list(bar.x) == ["char", "word", "bpe"] and list(bar.y) == [30, 6, 12]
    assert bar.text[2] == "12 tokens<br>2.50 chars/token" and bar.text[1].startswith("6 tokens, 1 <unk><br>")
    # the <unk> tokens hatched over each bar's foot: few tokens, most of them <unk>, is no win
    assert list(unknown.y) == [0, 1, 0] and unknown.marker.pattern.shape == "/"
    assert fig.layout.barmode == "overlay" and (bar.name, unknown.name) == ("tokens", "of them <unk>")  # not "trace 0"
    (only,) = figure_tokenizer_comparison([TokenCount("char", 60, 1, 1, 0)]).data
    assert only.text[0] == "1 token<br>1.00 chars/token"
    # above the bars at full size: inside a narrow bar Plotly shrank it to a few pixels
    assert bar.textposition == "outside" and bar.constraintext == "none"
    assert fig.layout.yaxis.range[1] > 30 * 1.3  # room above the tallest bar for its two lines
    assert fig.layout.title.text == "title"


def test_merges_outcome_counts_the_prompt_s_whole_words(story: str) -> None:
    prompt = "The keeper climbed the stairs to the lamp."
    vocabulary = frozenset(different_words(story))
    small, big = (train_tokenizer(story, TokenizerConfig("bpe", size)) for size in (64, 512))
    assert merges_outcome(small, prompt, vocabulary) == ""  # 64 is story's alphabet: no merge to speak of
    whole, words = whole_words(big.encode(prompt), prompt)
    assert words == 7 and "the" in whole and "keeper" not in whole  # 'the' counted once
    said = merges_outcome(big, prompt, vocabulary)
    assert said == (f"after all {len(big.merges)}, {len(whole)} of the prompt's 7 different words of two "
                    f"letters or more are a single token ({', '.join(f'`{word}`' for word in whole)})")
    # a one-letter word is one token before any merge, and <unk> is no word the merges made
    assert whole_words(big.encode("I am a cat"), "I am a cat")[1] == 2  # not 'I', 'a'
    door = "The door or the window."  # 'or' is a token inside 'door', split where it stands
    small_bpe = train_tokenizer(story, TokenizerConfig("bpe", 256))
    assert "or" not in whole_words(small_bpe.encode(door), door)[0]
    assert small_bpe.encode(door).pieces[3:5] == [" o", "r"]
    words = train_tokenizer(story, TokenizerConfig("word", 256))  # 'zebra': one <unk> token
    assert words.encode("a zebra").unknown and whole_words(words.encode("a zebra"), "a zebra") == ([], 1)
    assert merges_outcome(big, "!! a", vocabulary) == ""
    # a prompt that stops in a word: its last run is a single token but no word of the corpus
    cut = merges_outcome(big, "The keeper climbed the st", vocabulary)
    assert "st" not in vocabulary and "`st`" in cut
    example = min((w for w in vocabulary if w.startswith("st")), key=lambda w: (len(w), w))
    assert cut.endswith(f"; the last, `st`, is no word of this corpus but the start of one (as `{example}`): "
                        "the prompt stops inside a word")
    assert "stops inside" not in merges_outcome(big, "the st st", vocabulary)  # whole elsewhere too
    assert "lamp" in vocabulary and "lamp" in whole_words(big.encode("the lamp"), "the lamp")[0] and "stops inside" not in merges_outcome(big, "the lamp", vocabulary)  # a word
    assert "stops inside" not in merges_outcome(big, "the lamp.", vocabulary)  # ends on no letter
    none = merges_outcome(train_tokenizer(story, TokenizerConfig("bpe", 80)), "zyxwv", vocabulary)
    assert "none of the prompt's 1 different word of two letters or more is a single token yet" in none
    # ü, é and ï are no characters of story: no vocabulary size helps there
    foreign = merges_outcome(big, "Zürich naïve café", vocabulary)
    assert foreign.endswith("3 different words of two letters or more are a single token yet; `Zürich`, "
                            "`naïve`, `café` have a character this corpus never uses, which no "
                            "vocabulary size merges")
    assert "a bigger vocabulary merges further" in merges_outcome(big, "Zürich zyxwvq", vocabulary)


def test_a_word_without_its_space_is_said_to_be_another_token(story: str) -> None:
    """'the' at the start of a prompt is <unk> on word tokens: the vocabulary has ' the'."""
    words = train_tokenizer(story, TokenizerConfig("word", 256))
    prompt = "the keeper and zzqx\nthe end"
    found = known_with_a_space(words, words.encode(prompt), prompt)
    assert found == ["the"]  # once; " zzqx" is unknown with its space, and no word has "zzqx"
    assert spaced_words_sentence(found) == (
        "`the` has no space before it here, and a word token includes the space before it: the "
        "vocabulary has `␣the`, a different token.")
    chars = train_tokenizer(story, TokenizerConfig("char"))
    assert known_with_a_space(chars, chars.encode("é"), "é") == []  # char tokens have no words


def test_the_unknown_tokens_sentence_agrees_with_its_count() -> None:
    assert unknown_tokens_sentence(1) == "1 token of the prompt is not in the vocabulary and becomes <unk>"
    assert unknown_tokens_sentence(3) == "3 tokens of the prompt are not in the vocabulary and become <unk>"


def test_a_long_unknown_word_s_chip_stays_narrow_and_follows_the_whitespace_toggle() -> None:
    """A 300-letter <unk> word's chip ran into the next column and scrolled a phone sideways;
    with Show whitespace off its text still read "␣climbed"."""
    word = " " + "supercalifragilistic" * 15
    html = chips_html([Chip(UNK, 0, original=word)], whitespace=False)
    assert html.count(CLIP) == 2 and f"0 · {word}<" in html and "␣" not in re.sub(r'title="[^"]*"', "", html)
    assert "0 · ␣super" in chips_html([Chip(UNK, 0, original=word)], whitespace=True)
    assert f'title="&lt;unk&gt;: &#x27;␣{word[1:]}&#x27; is not in the vocabulary"' in html  # on hover, whole
