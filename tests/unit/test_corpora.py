"""Built-in corpora, user text validation and the train/validation split."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmviz.corpora import (
    MAX_TEXT_BYTES,
    CorpusError,
    corpus_names,
    list_corpora,
    load_corpus,
    load_corpus_or_path,
    read_user_text,
    split_text,
)

GENERATED = ["brackets", "copy", "agreement"]
PAIRS = {")": "(", "]": "[", "}": "{"}


def test_four_builtins_listed() -> None:
    assert corpus_names() == ["story", "brackets", "copy", "agreement"]
    infos = {info.name: info for info in list_corpora()}
    assert list(infos) == corpus_names()
    assert infos["story"].generated is False
    assert all(infos[name].generated for name in GENERATED)
    assert all(info.description.strip() for info in infos.values())


@pytest.mark.parametrize("name", GENERATED)
def test_generated_corpus_is_deterministic_per_seed(name: str) -> None:
    first = load_corpus(name, seed=3)
    assert first == load_corpus(name, seed=3)
    assert first != load_corpus(name, seed=4)
    assert len(first) > 10_000
    assert first.endswith("\n")


def test_story_is_long_prose_and_ignores_seed(story: str) -> None:
    assert len(story.encode("utf-8")) >= 30_000
    assert load_corpus("story", seed=7) == story
    assert len(story.split()) > 5_000


def test_brackets_are_balanced_on_every_line() -> None:
    deepest = 0
    lines = load_corpus("brackets", seed=0).splitlines()
    assert len(lines) > 100
    for line in lines:
        stack: list[str] = []
        for ch in line:
            if ch in "([{":
                stack.append(ch)
                deepest = max(deepest, len(stack))
            elif ch in PAIRS:
                assert stack and stack[-1] == PAIRS[ch], f"unbalanced {ch!r} in {line!r}"
                stack.pop()
        assert not stack, f"unclosed {stack} in {line!r}"
    assert deepest >= 3  # there is real nesting to count


def test_copy_lines_repeat_a_span_of_varying_length() -> None:
    lines = load_corpus("copy", seed=1).splitlines()
    assert len(lines) > 100
    for line in lines:
        parts = line.split(" | ")
        assert len(parts) == 2, line
        assert parts[0] == parts[1]
        assert re.fullmatch(r"[a-z]{2,4}( [a-z]{2,4}){1,4}", parts[0]), line
        letters = parts[0].replace(" ", "")
        assert len(set(letters)) == len(letters), line  # each letter points to one place
    # no fixed look-back finds the copy: the distance to it varies from line to line
    spans = {len(line.split(" | ")[0]) for line in lines}
    assert min(spans) <= 6 and max(spans) >= 22 and len(spans) >= 15


def test_agreement_lines_are_sentences() -> None:
    for line in load_corpus("agreement", seed=2).splitlines():
        assert line.startswith("the ") and line.endswith(" ."), line


def test_unknown_corpus_names_the_choices() -> None:
    with pytest.raises(CorpusError, match=r"unknown corpus 'poems'.*story"):
        load_corpus("poems")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        ("", "empty"),
        ("   \n\t  \n   " * 10, "empty"),
        (b"   \r\n  ", "empty"),
        (b"valid start \xff\xfe then more text here", "not UTF-8"),
        (b"some text\x00\x01\x02 that is binary really", "binary"),
        # Notepad's "Unicode": text, but not UTF-8 (it was called a binary file)
        ("a story of the harbour".encode("utf-16"), "UTF-16 text: save it as UTF-8"),
        (b"\xfe\xff" + "a story of the harbour".encode("utf-16-be"), "UTF-16"),
        ("a story of the harbour".encode("utf-32"), "UTF-32 text: save it as UTF-8"),
        (b"\x00\x00\xfe\xff" + "a story of the harbour".encode("utf-32-be"), "UTF-32"),
        ("some text \x00 that holds a NUL character", "NUL"),
        (b"a" * (MAX_TEXT_BYTES + 1), "limit"),
        ("é" * (MAX_TEXT_BYTES // 2 + 1), "bytes"),
    ],
    ids=["empty-bytes", "empty-str", "whitespace", "whitespace-bytes", "not-utf8", "binary",
         "utf16-le", "utf16-be", "utf32-le", "utf32-be", "nul-str", "too-big-bytes", "too-big-str"],
)
def test_bad_user_text_raises_corpus_error(data: bytes | str, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        read_user_text(data)


def test_good_user_text_comes_back_as_str() -> None:
    text = "Café au lait, naïve déjà vu — twenty characters at least.\n"
    assert read_user_text(text.encode("utf-8")) == text
    assert read_user_text(text) == text
    # Notepad's UTF-8 starts with a byte order mark: not a character of the text
    assert read_user_text(text.encode("utf-8-sig")) == text
    assert read_user_text("\ufeff" + text) == text


def test_load_corpus_or_path_reads_a_file(tmp_path: Path) -> None:
    text = "A small text of my own, written for this test.\nSecond line.\n"
    path = tmp_path / "mine.txt"
    path.write_text(text, encoding="utf-8")
    assert load_corpus_or_path(str(path)) == text
    assert load_corpus_or_path("copy", seed=5) == load_corpus("copy", seed=5)


def test_load_corpus_or_path_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(CorpusError, match="neither a built-in corpus"):
        load_corpus_or_path(str(missing))
    with pytest.raises(CorpusError, match="neither a built-in corpus"):
        load_corpus_or_path(str(tmp_path))  # a folder is not a file
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (MAX_TEXT_BYTES + 10))
    with pytest.raises(CorpusError, match="limit"):
        load_corpus_or_path(str(big))
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CorpusError, match="binary"):
        load_corpus_or_path(str(binary))


def test_split_text_is_deterministic(story: str) -> None:
    train, val = split_text(story)
    assert (train, val) == split_text(story)
    assert train + val == story
    assert abs(len(val) - 0.1 * len(story)) <= 1
    train20, val20 = split_text(story, 0.2)
    assert train20 + val20 == story
    assert val20.endswith(val) and len(val20) > len(val)
