"""Token chips (HTML), tokenizer comparison and BPE merge steps: pure functions of plain data."""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from lmviz.figures.style import (
    ACCENT,
    LEGEND_ABOVE,
    TRAIN_COLOR,
    figure,
    show_whitespace,
    token_color,
)
from lmviz.text import agreeing, code_span, counted
from lmviz.tokenizers import UNK, BPETokenizer, Encoding, Tokenizer, different_words, whole_words

UNK_COLOR = "#fee2e2"  # unknown pieces stand out whatever their id's palette color


@dataclass(frozen=True)
class Chip:
    """One token as the page draws it."""

    piece: str
    token_id: int | None  # None: the piece is not in the vocabulary (a partial BPE split)
    original: str = ""  # the text it came from, shown for <unk>
    highlight: bool = False  # e.g. made by the merge just learned


@dataclass(frozen=True)
class TokenCount:
    """How a tokenizer cuts a text: token count and characters per token."""

    kind: str
    vocab_size: int
    tokens: int
    characters: int
    unknown: int

    @property
    def chars_per_token(self) -> float:
        return self.characters / self.tokens if self.tokens else 0.0


@dataclass(frozen=True)
class MergeStep:
    """The text after the first `step` merges, and the pair merged at that step."""

    step: int
    pieces: list[str]
    pair: tuple[str, str] | None  # None at step 0 (characters only)

    @property
    def merged(self) -> str | None:
        return self.pair[0] + self.pair[1] if self.pair else None


def count_tokens(tokenizer: Tokenizer, text: str, encoding: Encoding | None = None) -> TokenCount:
    """Tokens and characters of `text` (pass its encoding if it is already at hand)."""
    encoding = encoding or tokenizer.encode(text)
    return TokenCount(tokenizer.kind, tokenizer.vocab_size, len(encoding.ids), len(text),
                      len(encoding.unknown))


def known_with_a_space(tokenizer: Tokenizer, encoding: Encoding, text: str) -> list[str]:
    """The prompt's <unk> words that the vocabulary has with a space before them: a word token
    carries its leading space, so "the" at the start of a prompt is not " the" (different words,
    each once)."""
    if tokenizer.kind != "word":
        return []
    words = (text[start:end] for start, end in (encoding.offsets[i] for i in encoding.unknown))
    return list(dict.fromkeys(w for w in words if not w[:1].isspace() and " " + w in tokenizer.index))


def spaced_words_sentence(words: Sequence[str]) -> str:
    """Why `known_with_a_space`'s words are <unk> (markdown)."""
    plain = ", ".join(_code(w) for w in words)
    spaced = ", ".join(_code(" " + w) for w in words)
    one = len(words) == 1
    return (f"{plain} {'has' if one else 'have'} no space before {'it' if one else 'them'} here, and a "
            f"word token includes the space before it: the vocabulary has {spaced}, a different token.")


def encoding_chips(encoding: Encoding, text: str) -> list[Chip]:
    """Chips for an encoding of `text`; an <unk> keeps the characters it replaced (from offsets)."""
    unknown = set(encoding.unknown)
    return [Chip(piece, token_id, text[start:end] if i in unknown else "")
            for i, (piece, token_id, (start, end))
            in enumerate(zip(encoding.pieces, encoding.ids, encoding.offsets, strict=True))]


def merge_step(tokenizer: BPETokenizer, text: str, step: int) -> MergeStep:
    """How `text` splits after `step` merges (clamped to 0..len(merges)) and which pair merged."""
    step = max(0, min(step, len(tokenizer.merges)))
    pair = tokenizer.merges[step - 1] if step > 0 else None
    return MergeStep(step, tokenizer.split_after_merges(text, step), pair)


def telling_step(tokenizer: BPETokenizer, text: str, upto: int = 10) -> int:
    """The last of the first `upto` merges whose piece shows in `text` after it (a chip to
    outline), so the stepper opens on a merge the prompt uses; `upto` (clamped) if none does."""
    last = min(upto, len(tokenizer.merges))
    for step in range(last, 0, -1):
        found = merge_step(tokenizer, text, step)
        if found.merged in found.pieces:
            return step
    return last


def unknown_originals(pieces: Sequence[str], text: str) -> list[str]:
    """The character each <unk> of a BPE split replaced ('' for known pieces): BPE emits one
    <unk> per unknown character, so the pieces walk the text. All '' if they do not line up."""
    originals, position = [], 0
    for piece in pieces:
        size = 1 if piece == UNK else len(piece)
        chunk = text[position:position + size]
        if piece != UNK and chunk != piece:
            return [""] * len(pieces)
        originals.append(chunk if piece == UNK else "")
        position += size
    return originals if position == len(text) else [""] * len(pieces)


def merge_chips(step: MergeStep, index: Mapping[str, int], text: str) -> list[Chip]:
    """Chips for a merge step of `text`; the pieces the latest merge produced are highlighted."""
    originals = unknown_originals(step.pieces, text)
    return [Chip(piece, index.get(piece), original, highlight=piece == step.merged)
            for piece, original in zip(step.pieces, originals, strict=True)]


def _label(piece: str, whitespace: bool) -> str:
    # A chip cannot hold a line break: newlines and tabs always show as marks.
    if whitespace:
        return show_whitespace(piece)
    return piece.replace("\n", "↵").replace("\t", "⇥") or "∅"


def escape_html(text: str) -> str:
    # `$` would start LaTeX in st.markdown. A carriage return ends a line in markdown: two make a
    # blank line, which ends the HTML block and reads the rest as markdown (a link's prompt could
    # load an image), so it shows as a mark. The rest is plain HTML escaping.
    return html.escape(text, quote=True).replace("$", "&#36;").replace("\r", "␍")


# a chip's lines end in "…" past this width (the whole text is in its title): a 300-letter
# <unk> word ran into the next column on a laptop and scrolled a phone's page sideways
CLIP = "display:block;max-width:18ch;overflow:hidden;text-overflow:ellipsis"


def _chip_span(chip: Chip, whitespace: bool) -> str:
    if chip.piece == UNK:
        color, border = UNK_COLOR, "1px dashed #dc2626"
        original = _label(chip.original, whitespace) if chip.original else ""  # as the toggle shows pieces
        below = f"{chip.token_id} · {original}" if original else str(chip.token_id)
        title = f"<unk>: {show_whitespace(chip.original)!r} is not in the vocabulary"
    else:
        known = chip.token_id is not None
        color = token_color(chip.token_id) if known else "#f1f5f9"
        border = f"2px solid {ACCENT}" if chip.highlight else "1px solid rgba(15,23,42,0.15)"
        below = str(chip.token_id) if known else "·"
        title = f"id {chip.token_id}: {show_whitespace(chip.piece)!r}" if known else show_whitespace(chip.piece)
    return (
        f'<span class="lmviz-chip" title="{escape_html(title)}" style="display:inline-flex;'
        f"flex-direction:column;align-items:center;background:{color};border:{border};"
        'border-radius:6px;padding:2px 6px;margin:2px;font-family:monospace;vertical-align:middle">'
        f'<span style="white-space:pre;font-size:1.05em;color:#0f172a;{CLIP}">{escape_html(_label(chip.piece, whitespace))}</span>'
        f'<span style="font-size:0.7em;color:#475569;white-space:pre;{CLIP}">{escape_html(below)}</span></span>'
    )


def chips_html(chips: Sequence[Chip], whitespace: bool = False) -> str:
    """One line of HTML: a chip per token, colored by id, with the id underneath.

    Safe for `st.markdown(..., unsafe_allow_html=True)`: every piece is escaped and the result
    has no newline (a blank line would end the HTML block)."""
    spans = "".join(_chip_span(chip, whitespace) for chip in chips)
    return f'<div class="lmviz-chips" style="line-height:1.1">{spans}</div>'


def merge_html(step: MergeStep, index: Mapping[str, int], whitespace: bool = False) -> str:
    """'left + right → merged' as chips, for the pair merged at this step ('' at step 0)."""
    if step.pair is None or step.merged is None:
        return ""
    left, right = (_chip_span(Chip(p, index.get(p)), whitespace) for p in step.pair)
    merged = _chip_span(Chip(step.merged, index.get(step.merged), highlight=True), whitespace)
    return (f'<div class="lmviz-merge" style="line-height:1.1">merge {step.step}: '
            f"{left} + {right} → {merged}</div>")


def unknown_tokens_sentence(count: int) -> str:
    """'1 token of the prompt is not in the vocabulary and becomes <unk>', or '3 tokens … are …
    become …' (no full stop)."""
    return (f"{counted(count, 'token')} of the prompt {agreeing(count, 'is', 'are')} not in the "
            f"vocabulary and {agreeing(count, 'becomes', 'become')} {UNK}")


def _code(piece: str) -> str:
    """A piece as a markdown code span, whitespace shown."""
    return code_span(show_whitespace(piece))


def first_merges_markdown(merges: Sequence[tuple[str, str]], count: int = 2) -> str:
    """This BPE's own first merges in words, "`h` + `e` and `␣` + `t`" (markdown; '' if it
    learned none): which pairs come first depends on the corpus and the tokenizer's rules."""
    pairs = [f"{_code(left)} + {_code(right)}" for left, right in merges[:count]]
    return " and ".join(pairs) if len(pairs) <= 2 else ", ".join(pairs[:-1]) + " and " + pairs[-1]


def merges_outcome(bpe: BPETokenizer, prompt: str, corpus_words: Collection[str]) -> str:
    """What all of this BPE's merges make of the prompt's words, in words (markdown; '' without
    merges or words of two letters or more): 'after all 189, 3 of the prompt's 6 different words
    of two letters or more are a single token (`The`, `the`, `st`); the last, `st`, is no word of
    this corpus but the start of one (as `stairs`): the prompt stops inside a word'.
    `corpus_words`: the different words of the text the BPE was trained on."""
    whole, words = whole_words(bpe.encode(prompt), prompt)
    if not bpe.merges or not words:
        return ""
    # a word with a character the corpus never uses can be one token at no vocabulary size
    foreign = [w for w in different_words(prompt) if bpe.encode(w).unknown]
    never = (f"; {', '.join(_code(w) for w in foreign)} {'has' if len(foreign) == 1 else 'have'} a "
             "character this corpus never uses, which no vocabulary size merges") if foreign else ""
    said = (f"after all {len(bpe.merges):,}, {len(whole) or 'none'} of the prompt's "
            f"{counted(words, 'different word')} of two letters or more")
    if not whole:
        more = "" if len(foreign) == words else ": a bigger vocabulary merges further"
        return said + f" {'is' if words == 1 else 'are'} a single token yet{more}{never}"
    shown = ", ".join(_code(word) for word in whole)
    said += f" {'is' if len(whole) == 1 else 'are'} a single token ({shown}){never}"
    return said + _stops_inside_a_word(prompt, whole, corpus_words)


def _stops_inside_a_word(prompt: str, whole: Sequence[str], corpus_words: Collection[str]) -> str:
    """'; the last, `st`, is no word of this corpus but the start of one (as `stairs`): …' where
    the prompt ends in a single-token run of letters that the corpus only has inside longer
    words, as the default prompt's "st" (a complete word there, as "lamp", says nothing)."""
    runs = re.findall(r"[^\W_]+", prompt)
    if not runs or not re.search(r"[^\W_]$", prompt):
        return ""
    last = runs[-1]
    if last not in whole or runs.count(last) > 1 or last in corpus_words:
        return ""
    longer = sorted((w for w in corpus_words if w.startswith(last)), key=lambda w: (len(w), w))
    if not longer:
        return ""
    return (f"; the last, {_code(last)}, is no word of this corpus but the start of one (as "
            f"{_code(longer[0])}): the prompt stops inside a word")


def merge_rows(merges: Sequence[tuple[str, str]], step: int, around: int = 4,
               pieces: Sequence[str] = ()) -> list[dict]:
    """Table rows for the merges numbered step-around .. step+around (1-based), whitespace shown:
    whether each is among the first `step` merges, and whether its token is among `pieces` (the
    prompt split after them)."""
    first, last = max(1, step - around), min(len(merges), step + around)
    present = set(pieces)
    return [{"merge": k, "left": show_whitespace(merges[k - 1][0]),
             "right": show_whitespace(merges[k - 1][1]),
             "new token": show_whitespace(merges[k - 1][0] + merges[k - 1][1]),
             "learned (≤ k)": "✓" if k <= step else "",
             "in the prompt": "✓" if k <= step and "".join(merges[k - 1]) in present else ""}
            for k in range(first, last + 1)]


def figure_tokenizer_comparison(counts: Sequence[TokenCount], title: str | None = None) -> go.Figure:
    """Tokens needed for the same text by each tokenizer, labelled with characters per token."""
    bar = {
        "type": "bar", "x": [c.kind for c in counts], "y": [c.tokens for c in counts], "name": "tokens",
        "marker": {"color": TRAIN_COLOR},
        # above the bars, on two lines and at full size: inside, Plotly shrank the text to the
        # bar's width (unreadable on a phone)
        "text": [f"{counted(c.tokens, 'token')}{f', {c.unknown} <unk>' if c.unknown else ''}"
                 f"<br>{c.chars_per_token:.2f} chars/token" for c in counts],
        "textposition": "outside", "constraintext": "none", "cliponaxis": False,
        "customdata": [[c.vocab_size, c.chars_per_token] for c in counts],
        "hovertemplate": "%{x}: %{y} tokens<br>%{customdata[1]:.2f} characters per token"
                         "<br>vocabulary %{customdata[0]}<extra></extra>",
    }
    traces = [bar]
    if any(c.unknown for c in counts):  # the <unk> tokens hatched over the foot of each bar: a
        # vocabulary that threw most of the text away had looked like the best tokenizer
        traces.append({"type": "bar", "x": [c.kind for c in counts], "y": [c.unknown for c in counts],
                       "name": "of them <unk>", "showlegend": True,
                       "marker": {"color": "rgba(255,255,255,0.55)", "line": {"width": 0},
                                  "pattern": {"shape": "/", "fgcolor": "#444", "solidity": 0.3}},
                       "hovertemplate": "%{x}: %{y} of them <unk><extra></extra>"})
    top = max((c.tokens for c in counts), default=1)
    return figure(traces, title, height=300, xaxis={"title": "tokenizer"}, barmode="overlay",
                  showlegend=len(traces) > 1, legend=LEGEND_ABOVE,
                  yaxis={"title": "tokens", "range": [0, top * 1.35]})  # room for the text above
