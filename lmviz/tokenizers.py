"""Character, word and BPE tokenizers behind one interface: encode -> ids, pieces, offsets."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from tokenizers import Regex, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

TokenizerKind = Literal["char", "word", "bpe"]
TOKENIZER_KINDS: tuple[str, ...] = ("char", "word", "bpe")
UNK = "<unk>"
# Words keep their leading space, so concatenating pieces gives the text back. A run is cut
# every 64 characters: BPE trains in time that grows with the square of a run's length (80 KB
# of letters without a space took 1.7 s, 2 MB would take about 15 minutes; cut, 6.5 s).
WORD_PATTERN = r" ?\w{1,64}| ?[^\s\w]{1,64}|\s{1,64}"
LONGEST_TOKEN = 65  # characters a word or BPE token can cover at most (WORD_PATTERN's " ?" and 64)
TOKEN_NAMES = {"char": "characters", "word": "word tokens", "bpe": "BPE pieces"}  # as pages say them
_WORD_RE = re.compile(WORD_PATTERN)


MAX_CHARS = 5_000  # a char vocabulary's size at most, <unk> included (Chinese uses ~3,500 often)


class TokenizerError(ValueError):
    """Bad tokenizer settings or input; the message is for the user."""


@dataclass(frozen=True)
class TokenizerConfig:
    kind: TokenizerKind = "char"
    vocab_size: int = 512  # word and bpe only; char uses every character of the corpus (MAX_CHARS)

    def __post_init__(self) -> None:
        if self.kind not in TOKENIZER_KINDS:
            raise TokenizerError(f"unknown tokenizer {self.kind!r}; choose one of {', '.join(TOKENIZER_KINDS)}")
        if not 2 <= self.vocab_size <= 50_000:
            raise TokenizerError(f"vocab size must be between 2 and 50000, got {self.vocab_size}")


@dataclass(frozen=True)
class Encoding:
    ids: list[int]
    pieces: list[str]
    offsets: list[tuple[int, int]]  # [start, end) into the encoded text
    unknown: list[int] = field(default_factory=list)  # positions that became <unk>


WORD_RUN = re.compile(r"[^\W_]{2,}")  # a word: two or more letters or digits (one is a token already)


def different_words(text: str) -> list[str]:
    """The different words (WORD_RUN) of `text`, in order."""
    return list(dict.fromkeys(WORD_RUN.findall(text)))


def whole_words(encoding: Encoding, text: str) -> tuple[list[str], int]:
    """The different words of `text` (`different_words`: a single letter is a token before any
    merge) that are one known token of `encoding` (the encoding of `text`), a leading space
    allowed in the token, in order; and how many different words it has."""
    matches = list(WORD_RUN.finditer(text))
    words = different_words(text)
    unknown = set(encoding.unknown)
    known = [(start, end) for n, (start, end) in enumerate(encoding.offsets) if n not in unknown]
    whole = {match.group() for match in matches  # this very word is one token, not its letters elsewhere
             if any(start <= match.start() and end >= match.end() and text[start:end].strip() == match.group()
                    for start, end in known)}
    return [word for word in words if word in whole], len(words)


def common_characters(text: str) -> list[str]:
    """The text's characters, or its MAX_CHARS - 1 most frequent (ties: the first in code order)
    where it has more: a text of 45,000 different characters (every script at once) made a
    model of gigabytes. The rest become <unk>, which the app counts and says."""
    counts = Counter(text)
    if len(counts) < MAX_CHARS:
        return list(counts)
    return sorted(counts, key=lambda ch: (-counts[ch], ch))[: MAX_CHARS - 1]


class Tokenizer:
    """Shared behaviour; subclasses fill `vocab` (id -> piece) and implement `_split`."""

    kind: TokenizerKind
    vocab: list[str]

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab
        self.index = {piece: i for i, piece in enumerate(vocab)}
        self.unk_id = self.index[UNK]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _split(self, text: str) -> list[tuple[str, int, int]]:
        raise NotImplementedError

    def encode(self, text: str) -> Encoding:
        ids, pieces, offsets, unknown = [], [], [], []
        for piece, start, end in self._split(text):
            token_id = self.index.get(piece, self.unk_id)
            if token_id == self.unk_id:
                unknown.append(len(ids))
            ids.append(token_id)
            pieces.append(self.vocab[token_id])
            offsets.append((start, end))
        return Encoding(ids, pieces, offsets, unknown)

    def decode(self, ids: list[int]) -> str:
        return "".join(self.piece_after(previous, i) for previous, i in zip([None, *ids], ids, strict=False))

    def piece_after(self, previous: int | None, token_id: int) -> str:
        """The text token `token_id` adds after token `previous` (None: at the start)."""
        return self.vocab[token_id] if 0 <= token_id < len(self.vocab) else UNK

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "vocab": self.vocab})


class CharTokenizer(Tokenizer):
    kind = "char"

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        """Every character of the text (`common_characters`), and <unk>."""
        return cls([UNK, *sorted(common_characters(text))])

    def _split(self, text: str) -> list[tuple[str, int, int]]:
        return [(ch, i, i + 1) for i, ch in enumerate(text)]


class WordTokenizer(Tokenizer):
    """Most frequent words (with their leading space), whitespace runs and punctuation."""

    kind = "word"

    @classmethod
    def train(cls, text: str, vocab_size: int) -> WordTokenizer:
        counts = Counter(m.group() for m in _WORD_RE.finditer(text))
        counts.pop(" ", None)  # always in: a prompt that ends in a space ends in a known token
        common = sorted(counts, key=lambda w: (-counts[w], w))[: vocab_size - 2]
        return cls([UNK, *sorted([" ", *common])])

    def _split(self, text: str) -> list[tuple[str, int, int]]:
        """Words with their leading space: an unknown " word" is one <unk>, space and all (split
        into " " and <unk>, a bare space became the likeliest next token on story, standing for
        "an unknown word follows")."""
        return [(match.group(), match.start(), match.end()) for match in _WORD_RE.finditer(text)]

    def piece_after(self, previous: int | None, token_id: int) -> str:
        """<unk> most often stood for a " word": it reads " <unk>" ("the <unk>", "cat, <unk>"),
        but at the start, after whitespace and after an opening bracket or quote."""
        piece = super().piece_after(previous, token_id)
        if token_id != self.unk_id or previous is None:
            return piece
        before = super().piece_after(None, previous)
        return piece if before[-1:].isspace() or before[-1:] in "([{\"'" else " " + piece


class BPETokenizer(Tokenizer):
    """Byte-pair encoding trained by Hugging Face `tokenizers`; merges kept in order."""

    kind = "bpe"

    def __init__(self, hf: HFTokenizer) -> None:
        model = json.loads(hf.to_str())["model"]
        self.merges: list[tuple[str, str]] = [_pair(m) for m in model["merges"]]
        # rebuilt from its vocabulary and merges, without the trainer's special <unk>: that one
        # matched the five characters "<unk>" typed in a text, which then read as unknown
        self.hf = HFTokenizer(models.BPE(vocab=model["vocab"], merges=self.merges, unk_token=UNK))
        self.hf.pre_tokenizer = _pre_tokenizer()
        vocab = [""] * len(model["vocab"])
        for piece, i in model["vocab"].items():
            vocab[i] = piece
        super().__init__(vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        hf = HFTokenizer(models.BPE(unk_token=UNK))
        hf.pre_tokenizer = _pre_tokenizer()
        alphabet = sorted(common_characters(text))
        trainer = trainers.BpeTrainer(
            vocab_size=max(vocab_size, len(alphabet) + 1),
            special_tokens=[UNK],
            initial_alphabet=alphabet,
            limit_alphabet=len(alphabet),
            show_progress=False,
        )
        hf.train_from_iterator([text], trainer=trainer)
        return cls(hf)

    def encode(self, text: str) -> Encoding:
        enc = self.hf.encode(text)
        unknown = [i for i, t in enumerate(enc.ids) if t == self.unk_id]
        return Encoding(list(enc.ids), list(enc.tokens), [tuple(o) for o in enc.offsets], unknown)

    def split_after_merges(self, text: str, merges: int) -> list[str]:
        """How `text` splits when only the first `merges` merges have been learned."""
        merges = max(0, min(merges, len(self.merges)))
        partial = HFTokenizer(
            models.BPE(vocab=self.index, merges=self.merges[:merges], unk_token=UNK)
        )
        partial.pre_tokenizer = _pre_tokenizer()
        return list(partial.encode(text).tokens)

    def to_json(self) -> str:
        return json.dumps({"kind": "bpe", "hf": self.hf.to_str()})


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")


def _pair(merge: str | list[str]) -> tuple[str, str]:
    if isinstance(merge, str):  # older tokenizers store "a b"
        left, right = merge.split(" ", 1)
        return left, right
    return merge[0], merge[1]


def train_tokenizer(text: str, config: TokenizerConfig) -> Tokenizer:
    if not text:
        raise TokenizerError("cannot train a tokenizer on empty text")
    if config.kind == "char":
        return CharTokenizer.train(text)
    if config.kind == "word":
        return WordTokenizer.train(text, config.vocab_size)
    return BPETokenizer.train(text, config.vocab_size)


def tokenizer_from_json(data: str) -> Tokenizer:
    obj = json.loads(data)
    kind = obj.get("kind")
    if kind == "char":
        return CharTokenizer(obj["vocab"])
    if kind == "word":
        return WordTokenizer(obj["vocab"])
    if kind == "bpe":
        return BPETokenizer(HFTokenizer.from_str(obj["hf"]))
    raise TokenizerError(f"unknown tokenizer kind {kind!r} in tokenizer file")
