"""Readable token labels and axis ticks for charts over a prompt's tokens."""

from __future__ import annotations

import math
from dataclasses import replace

from lmviz.figures.style import show_whitespace
from lmviz.figures.tokens import chips_html, encoding_chips
from lmviz.tokenizers import Encoding

MAX_TICK_LABELS = 40
MAX_LABEL_CHARS = 8
MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|$~:")


def short_labels(pieces: list[str], max_chars: int = MAX_LABEL_CHARS) -> list[str]:
    """'position:piece' labels (unique), long pieces cut with an ellipsis."""
    out = []
    for i, piece in enumerate(pieces):
        shown = show_whitespace(piece)
        if len(shown) > max_chars:
            shown = shown[: max_chars - 1] + "…"
        out.append(f"{i}:{shown}")
    return out


def tick_positions(count: int, max_labels: int = MAX_TICK_LABELS) -> list[int]:
    """Every k-th position so that at most `max_labels` axis labels are drawn."""
    stride = max(1, math.ceil(count / max_labels))
    return list(range(0, count, stride))


def axis_ticks(labels: list[str], count: int, max_labels: int = 32) -> dict[str, object]:
    """Plotly tickvals/ticktext for positions 0..count-1, at most `max_labels` of them labelled."""
    ticks = tick_positions(count, max_labels)
    return {"tickvals": ticks, "ticktext": [labels[i] for i in ticks]}


def current_token_html(encoding: Encoding, text: str, current: int | None) -> str:
    """The prompt as the shared token chips (escaped HTML), the token at `current` outlined."""
    chips = [replace(chip, highlight=i == current) for i, chip in enumerate(encoding_chips(encoding, text))]
    return chips_html(chips, whitespace=True)


def markdown_text(text: str) -> str:
    """`text` shown literally inside Streamlit markdown: markup and `$` (LaTeX) escaped."""
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 head', '2 heads': a count with its noun in the right number (plural: noun + 's')."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
