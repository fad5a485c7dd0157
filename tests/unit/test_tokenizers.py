"""Char, word and BPE tokenizers: round trips, offsets, unknowns, merges, JSON."""

from __future__ import annotations

import itertools
import json

import pytest

from lmviz.tokenizers import (
    LONGEST_TOKEN,
    MAX_CHARS,
    UNK,
    BPETokenizer,
    CharTokenizer,
    Encoding,
    Tokenizer,
    TokenizerConfig,
    TokenizerError,
    WordTokenizer,
    tokenizer_from_json,
    train_tokenizer,
)

SMALL = "the cat sat on the mat.  The dog, too!\nthe cat ran (fast) to the mat?\n"


def assert_offsets_cover(text: str, enc: Encoding) -> None:
    """Offsets are [start, end) into text, contiguous, and each known piece is text[s:e]."""
    assert len(enc.ids) == len(enc.pieces) == len(enc.offsets)
    position = 0
    for piece, (start, end) in zip(enc.pieces, enc.offsets, strict=True):
        assert start == position and end > start
        if piece != UNK:
            assert text[start:end] == piece
        position = end
    assert position == len(text)


@pytest.fixture(scope="module")
def story_char(story: str) -> Tokenizer:
    return train_tokenizer(story, TokenizerConfig("char"))


@pytest.fixture(scope="module")
def small_word() -> Tokenizer:
    return train_tokenizer(SMALL, TokenizerConfig("word", 200))


def test_char_round_trip(story: str, story_char: Tokenizer) -> None:
    assert isinstance(story_char, CharTokenizer)
    assert story_char.vocab[0] == UNK
    assert story_char.vocab_size == len(set(story)) + 1
    text = story[5000:6000]
    enc = story_char.encode(text)
    assert story_char.decode(enc.ids) == text
    assert enc.pieces == list(text)
    assert enc.unknown == []
    assert_offsets_cover(text, enc)


def test_word_round_trip(small_word: Tokenizer) -> None:
    assert isinstance(small_word, WordTokenizer)
    enc = small_word.encode(SMALL)
    assert enc.unknown == []
    assert small_word.decode(enc.ids) == SMALL
    assert "".join(enc.pieces) == SMALL
    assert " cat" in enc.pieces  # words keep their leading space
    assert_offsets_cover(SMALL, enc)


def test_bpe_round_trips_a_story_paragraph(story: str, story_bpe: BPETokenizer) -> None:
    paragraph = story[3000:4500]
    enc = story_bpe.encode(paragraph)
    assert enc.unknown == []
    assert story_bpe.decode(enc.ids) == paragraph
    assert len(enc.ids) < len(paragraph) * 0.8  # merges really shorten the text
    assert_offsets_cover(paragraph, enc)


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_unknown_characters_become_unk(kind: str) -> None:
    tokenizer = train_tokenizer(SMALL, TokenizerConfig(kind, 200))
    text = "the cat é sat 😀 on"
    enc = tokenizer.encode(text)
    assert enc.unknown, enc.pieces
    for position in enc.unknown:
        assert enc.pieces[position] == UNK
        assert enc.ids[position] == tokenizer.unk_id
    assert [i for i, piece in enumerate(enc.pieces) if piece == UNK] == enc.unknown
    unknown_text = "".join(text[s:e] for s, e in (enc.offsets[i] for i in enc.unknown))
    assert "é" in unknown_text and "😀" in unknown_text
    assert_offsets_cover(text, enc)
    assert UNK in tokenizer.decode(enc.ids)


def test_word_out_of_vocabulary_is_unk(small_word: Tokenizer) -> None:
    """An unknown word is one <unk>, space and all: split into " " and <unk>, a bare space became
    the likeliest next token on story (it stood for "an unknown word follows")."""
    enc = small_word.encode("the zebra giraffe sat (okapi")
    assert enc.pieces == ["the", UNK, UNK, " sat", " (", UNK]
    assert enc.unknown == [1, 2, 5] and enc.offsets[1:3] == [(3, 9), (9, 17)]
    assert small_word.decode(enc.ids) == f"the {UNK} {UNK} sat ({UNK}"  # not "the<unk><unk> sat"
    assert small_word.piece_after(enc.ids[0], small_word.unk_id) == f" {UNK}"
    assert small_word.piece_after(None, small_word.unk_id) == UNK
    assert small_word.decode(small_word.encode("the cat, zebra").ids) == f"the cat, {UNK}"
    assert small_word.encode("the cat ").unknown == []  # a prompt that ends in a space
    assert small_word.decode([]) == ""


def test_word_vocab_respects_size() -> None:
    tokenizer = train_tokenizer(SMALL, TokenizerConfig("word", 6))
    assert tokenizer.vocab_size == 6 and " " in tokenizer.vocab  # a prompt may end in a space
    assert " the" in tokenizer.vocab  # the most frequent survive


@pytest.mark.parametrize("size", [120, 300])
def test_bpe_vocab_size_respects_parameter(story: str, size: int) -> None:
    tokenizer = train_tokenizer(story, TokenizerConfig("bpe", size))
    assert tokenizer.vocab_size == size
    assert len(set(tokenizer.vocab)) == size
    assert tokenizer.vocab[tokenizer.unk_id] == UNK


def test_bpe_merges_are_ordered(story: str, story_bpe: BPETokenizer) -> None:
    alphabet = set(story)
    merges = story_bpe.merges
    assert len(merges) == story_bpe.vocab_size - len(alphabet) - 1
    made: set[str] = set()
    ids = []
    for left, right in merges:
        # a merge only uses characters and the results of earlier merges
        assert left in alphabet or left in made
        assert right in alphabet or right in made
        made.add(left + right)
        ids.append(story_bpe.index[left + right])
    assert ids == sorted(ids)


def test_split_after_merges(story: str, story_bpe: BPETokenizer) -> None:
    text = story[2000:2300]
    assert story_bpe.split_after_merges(text, 0) == list(text)
    assert story_bpe.split_after_merges(text, -5) == list(text)
    full = story_bpe.encode(text).pieces
    assert story_bpe.split_after_merges(text, len(story_bpe.merges)) == full
    assert story_bpe.split_after_merges(text, len(story_bpe.merges) + 10) == full
    counts = []
    learned = set(text)
    for k in range(len(story_bpe.merges) + 1):
        pieces = story_bpe.split_after_merges(text, k)
        assert "".join(pieces) == text
        assert set(pieces) <= learned  # only characters and the first k merges' results
        counts.append(len(pieces))
        if k < len(story_bpe.merges):
            learned.add("".join(story_bpe.merges[k]))
    assert all(a >= b for a, b in itertools.pairwise(counts))
    assert counts[0] > counts[-1]


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_json_round_trip(story: str, kind: str) -> None:
    tokenizer = train_tokenizer(story, TokenizerConfig(kind, 250))
    json.loads(tokenizer.to_json())  # plain JSON
    again = tokenizer_from_json(tokenizer.to_json())
    assert type(again) is type(tokenizer)
    assert again.kind == kind
    assert again.vocab == tokenizer.vocab
    text = story[100:700] + " zebra é"
    assert again.encode(text) == tokenizer.encode(text)
    if isinstance(tokenizer, BPETokenizer):
        assert isinstance(again, BPETokenizer)
        assert again.merges == tokenizer.merges


@pytest.mark.parametrize(
    ("kind", "size"), [("sentencepiece", 100), ("char", 1), ("bpe", 50_001), ("word", 0)]
)
def test_bad_config_raises(kind: str, size: int) -> None:
    with pytest.raises(TokenizerError):
        TokenizerConfig(kind, size)  # type: ignore[arg-type]


def test_bad_input_raises() -> None:
    with pytest.raises(TokenizerError, match="empty"):
        train_tokenizer("", TokenizerConfig("bpe", 100))
    with pytest.raises(TokenizerError, match="unknown tokenizer kind"):
        tokenizer_from_json(json.dumps({"kind": "morse", "vocab": [UNK]}))


def test_decode_out_of_range_ids_is_unk(story_char: Tokenizer) -> None:
    assert story_char.decode([-1, story_char.vocab_size]) == UNK + UNK


def test_each_merge_takes_effect_at_its_rank(story_bpe: BPETokenizer) -> None:
    for k, (left, right) in enumerate(story_bpe.merges, start=1):
        word = left + right
        assert story_bpe.split_after_merges(word, k) == [word]
        assert word not in story_bpe.split_after_merges(word, k - 1)


def test_a_char_vocabulary_keeps_the_most_frequent_characters() -> None:
    """A text with more different characters than MAX_CHARS - 1 (every script at once) keeps
    the most frequent; the rest become <unk>, and the vocabulary stays sorted."""
    rare = "".join(chr(0x4E00 + i) for i in range(MAX_CHARS + 500))  # each once
    text = "ab" * 50 + rare
    tokenizer = CharTokenizer.train(text)
    assert tokenizer.vocab_size == MAX_CHARS
    assert {"a", "b"} <= set(tokenizer.vocab) and tokenizer.vocab == [UNK, *sorted(tokenizer.vocab[1:])]
    encoded = tokenizer.encode(text)
    assert len(encoded.unknown) == len(rare) - (MAX_CHARS - 3)  # a, b and <unk> took three places
    assert all(encoded.pieces[n] == UNK for n in encoded.unknown)
    small = CharTokenizer.train("hello")
    assert small.vocab == [UNK, "e", "h", "l", "o"]  # under the cap: every character


def test_bpe_reads_a_typed_unk_as_text_and_caps_its_alphabet(story: str) -> None:
    """The five characters "<unk>" in a text are text (the trainer's special token matched them),
    also after a save and load; a text of too many different characters keeps the most frequent."""
    bpe = BPETokenizer.train(story[:20_000] + " <unk>", 300)
    for tokenizer in (bpe, tokenizer_from_json(bpe.to_json())):
        encoded = tokenizer.encode("a <unk> b")
        assert encoded.unknown == [] and "".join(encoded.pieces) == "a <unk> b"
        assert tokenizer.encode("a \u2603 b").unknown == [2]  # a snowman it never saw is unknown
    rare = "".join(chr(0x4E00 + i) for i in range(MAX_CHARS + 100))
    wide = BPETokenizer.train("ab " * 100 + rare, 300)
    assert wide.vocab_size == MAX_CHARS and {"a", "b"} <= set(wide.vocab)


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_a_long_run_without_spaces_is_cut_every_64_characters(kind: str) -> None:
    """BPE trains in time that grows with the square of a pre-token's length (a pasted page of
    Chinese, a base64 blob): runs are cut, and the text still comes back whole."""
    run = "".join(chr(ord("a") + (i * 7) % 26) for i in range(1000))
    text = f"{run} then words, and {run}"
    tokenizer = train_tokenizer(text, TokenizerConfig(kind, 300))
    encoded = tokenizer.encode(text)
    assert "".join(text[start:end] for start, end in encoded.offsets) == text
    assert max(end - start for start, end in encoded.offsets) <= 65  # 64 and a leading space


def test_no_token_covers_more_than_longest_token_characters() -> None:
    """too_short_note trusts a text of LONGEST_TOKEN characters a token to hold enough of them."""
    text = "ACGT" * 400 + " " + "x" * 300 + "\n" * 100
    for kind in ("word", "bpe"):
        tokenizer = train_tokenizer(text, TokenizerConfig(kind, 300))
        encoding = tokenizer.encode(text)
        assert max(end - start for start, end in encoding.offsets) <= LONGEST_TOKEN
