"""Readable token labels and axis ticks for charts over a prompt's tokens."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from lmviz.figures.style import show_whitespace
from lmviz.figures.tokens import chips_html, encoding_chips
from lmviz.text import counted, markdown_text
from lmviz.tokenizers import Encoding

MAX_LABEL_CHARS = 8


def short_labels(pieces: list[str], max_chars: int = MAX_LABEL_CHARS) -> list[str]:
    """'position:piece' labels (unique), long pieces cut with an ellipsis."""
    out = []
    for i, piece in enumerate(pieces):
        shown = show_whitespace(piece)
        if len(shown) > max_chars:
            shown = shown[: max_chars - 1] + "…"
        out.append(f"{i}:{shown}")
    return out


def plotly_label(text: str) -> str:
    """A token as Plotly text: escaped, since Plotly reads a little HTML (<b>, <br>, <a>) in
    labels, titles and hover text. The tokenizers cannot make a tag today (letters and "<" are
    never one piece), which should not be what keeps a chart safe."""
    return html.escape(text, quote=False)


def token_axis(labels: Sequence[str]) -> dict[str, object]:
    """A Plotly axis over positions 0..n-1 (a trace's x or y) that shows `labels` there.

    A category axis: Plotly labels every k-th category, k fitted to the axis's length in pixels,
    so a phone shows fewer labels where a wide screen shows them all (a fixed list of ticks
    overlapped on a phone). The labels are escaped: Plotly reads a little HTML in them."""
    return {"type": "category",
            "labelalias": {str(i): plotly_label(label) for i, label in enumerate(labels)}}


def current_token_html(encoding: Encoding, text: str, current: int | None,
                       around: int | None = None) -> str:
    """The prompt as the shared token chips (escaped HTML), the token at `current` outlined; with
    `around`, only the tokens that near it and a count of the others (a 500-character prompt
    put 1.5 laptop screens of chips above the charts)."""
    chips = [replace(chip, highlight=i == current) for i, chip in enumerate(encoding_chips(encoding, text))]
    if around is None or current is None or len(chips) <= 2 * around + 1:
        return chips_html(chips, whitespace=True)
    start = max(0, min(current - around, len(chips) - 2 * around - 1))
    end = start + 2 * around + 1
    shown = chips_html(chips[start:end], whitespace=True)
    def note(words: str) -> str:
        return f'<div style="color:#64748b;font-size:0.85em">{words}</div>'

    return ((note(f"… {counted(start, 'token')} before") if start else "") + shown
            + (note(f"{counted(len(chips) - end, 'more token')} …") if end < len(chips) else ""))


def markdown_piece(piece: str) -> str:
    """A token's text inside markdown: its whitespace shown (␣, ↵), the rest literally."""
    return markdown_text(show_whitespace(piece))
