"""Built-in corpora (shipped prose and generated texts with known structure) and user text."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MAX_TEXT_BYTES = 2_000_000
MIN_TEXT_CHARS = 20
GENERATED_CHARS = 120_000
VAL_FRACTION = 0.1  # the end of a text kept for validation (split_text)


class CorpusError(ValueError):
    """A corpus name or a user's text that cannot be used; the message is for the user."""


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    description: str
    generated: bool


def _story(seed: int) -> str:
    return (ASSETS / "story.txt").read_text(encoding="utf-8")


def _expression(rng: random.Random, depth: int) -> str:
    """One code-like expression with nested brackets and quotes."""
    names = ["x", "y", "n", "f", "g", "item", "key", "val", "data", "i"]
    if depth >= 6 or rng.random() < 0.25 + 0.1 * depth:
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(names)
        if roll < 0.75:
            return str(rng.randint(0, 99))
        quote = rng.choice(["'", '"'])
        return quote + rng.choice(["a", "ok", "hi", "no", "end"]) + quote
    opener, closer = rng.choice([("(", ")"), ("[", "]"), ("{", "}")])
    parts = [_expression(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    inner = ", ".join(parts)
    if opener == "(":
        return rng.choice(names) + "(" + inner + ")"
    return opener + inner + closer


def _brackets(seed: int) -> str:
    rng = random.Random(seed)
    lines = []
    size = 0
    while size < GENERATED_CHARS:
        line = f"{rng.choice(['x', 'y', 'out', 'res'])} = {_expression(rng, 0)}"
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def _copy(seed: int) -> str:
    """A span of 2-5 random words of 2-4 letters (no letter twice in a span), ' | ', the same
    span again. The span's length varies line to line (5 to 24 characters), so no fixed
    look-back finds the earlier copy: to predict the repeat a model must find where the current
    token occurred before and copy what came next (an induction head)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lines = []
    size = 0
    while size < GENERATED_CHARS:
        lengths = [rng.randint(2, 4) for _ in range(rng.randint(2, 5))]
        chosen = iter(rng.sample(letters, sum(lengths)))  # no letter twice in a span
        span = " ".join("".join(next(chosen) for _ in range(length)) for length in lengths)
        line = f"{span} | {span}"
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


_NOUNS = [("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("child", "children"),
          ("teacher", "teachers"), ("farmer", "farmers")]
_VERBS = [("runs", "run"), ("sleeps", "sleep"), ("sings", "sing"), ("waits", "wait"),
          ("laughs", "laugh"), ("is happy", "are happy")]
_OBJECT_VERBS = [("sees", "see"), ("likes", "like"), ("follows", "follow"), ("helps", "help")]


def _agreement(seed: int) -> str:
    """Subject-verb agreement across a relative clause or a prepositional phrase."""
    rng = random.Random(seed)
    lines = []
    size = 0
    while size < GENERATED_CHARS:
        number = rng.randint(0, 1)
        subject = rng.choice(_NOUNS)[number]
        other_number = rng.randint(0, 1)
        other = rng.choice(_NOUNS)[other_number]
        if rng.random() < 0.5:
            clause_verb = rng.choice(_OBJECT_VERBS)[other_number]
            middle = f"that the {other} {clause_verb}"
        else:
            middle = f"{rng.choice(['near', 'with', 'behind'])} the {other}"
        verb = rng.choice(_VERBS)[number]
        line = f"the {subject} {middle} {verb} ."
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


_BUILDERS: dict[str, tuple[Callable[[int], str], str, bool]] = {
    "story": (_story, "Original English prose written for lmviz (lighthouse, harbour, people).", False),
    "brackets": (_brackets, "Code-like lines with nested (), [], {} and quotes: a depth to count.", True),
    "copy": (_copy, "2-5 random words, '|', then the same words again: attention can copy.", True),
    "agreement": (_agreement, "'the dog that the cats see runs .': the verb agrees across a clause.", True),
}


def list_corpora() -> list[CorpusInfo]:
    return [CorpusInfo(name, desc, gen) for name, (_, desc, gen) in _BUILDERS.items()]


def corpus_names() -> list[str]:
    return list(_BUILDERS)


def load_corpus(name: str, seed: int = 0) -> str:
    """Text of a built-in corpus; generated corpora are deterministic for a seed."""
    if name not in _BUILDERS:
        raise CorpusError(f"unknown corpus {name!r}; choose one of {', '.join(_BUILDERS)}")
    return _BUILDERS[name][0](seed)


def read_user_text(data: bytes | str) -> str:
    """Validate a user's own text (typed or uploaded) and return it as str."""
    if isinstance(data, bytes):
        if len(data) > MAX_TEXT_BYTES:
            raise CorpusError(f"the text is {len(data):,} bytes; the limit is {MAX_TEXT_BYTES:,}")
        if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # byte order marks
            raise CorpusError("the file is UTF-32 text: save it as UTF-8")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CorpusError("the file is UTF-16 text: save it as UTF-8")
        if b"\x00" in data:
            raise CorpusError("this looks like a binary file, not text: upload UTF-8 text")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CorpusError(f"the file is not UTF-8 text (bad byte at position {err.start})") from err
    data = data.removeprefix("\ufeff")  # a UTF-8 byte order mark (Notepad's): not a character of the text
    if len(data.encode("utf-8")) > MAX_TEXT_BYTES:
        raise CorpusError(f"the text is over {MAX_TEXT_BYTES:,} bytes; use a shorter text")
    if "\x00" in data:
        raise CorpusError("the text contains NUL characters: upload UTF-8 text")
    if len(data.strip()) < MIN_TEXT_CHARS:
        # no number that could train: what a Context needs is said once the text is in (74
        # characters at 64 tokens; "give at least 20" was then refused at 60)
        raise CorpusError("the text is empty or too short to learn from: give a few sentences at least")
    return data


def load_corpus_or_path(name_or_path: str, seed: int = 0) -> str:
    """A built-in corpus by name, else a UTF-8 file by path (the CLI's --corpus)."""
    if name_or_path in _BUILDERS:
        return load_corpus(name_or_path, seed)
    path = Path(name_or_path)
    if not path.is_file():
        raise CorpusError(f"{name_or_path!r} is neither a built-in corpus ({', '.join(_BUILDERS)}) nor a file")
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise CorpusError(f"{path} is {path.stat().st_size:,} bytes; the limit is {MAX_TEXT_BYTES:,}")
    return read_user_text(path.read_bytes())


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """Deterministic split: the last val_fraction of the text is validation."""
    cut = _training_chars(len(text), val_fraction)
    return text[:cut], text[cut:]


def _training_chars(length: int, val_fraction: float) -> int:
    """How many of a text's `length` characters `split_text` keeps for training."""
    return int(length * (1.0 - val_fraction))


def min_training_tokens(context: int) -> int:
    """The fewest tokens a training part can hold at `context`: a window of context + 1 tokens
    (the inputs, and the targets one token on), and at least two places to cut one from."""
    return context + 2


def min_chars(context: int, val_fraction: float = VAL_FRACTION) -> int:
    """The fewest characters a text needs to train with `context` tokens: its training part
    (`split_text`) must hold `min_training_tokens`, and char tokens are its characters (word and
    BPE tokens, several characters each, need more text)."""
    needed = min_training_tokens(context)
    chars = int(needed / (1.0 - val_fraction))
    while _training_chars(chars, val_fraction) < needed:
        chars += 1
    return chars
