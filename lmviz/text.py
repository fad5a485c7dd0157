"""Text shown literally in Streamlit markdown: a visitor's words or a link's values, never markup."""

from __future__ import annotations

import math
import re

MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|$~:&")  # markup, `$` (LaTeX) and `&` (an HTML entity)


# After a colon: Streamlit turns ":m:" into an emoji whatever is escaped (a label "14:m" before a
# heading's colon read "Token 14Ⓜ️"); an invisible word joiner keeps the colon from starting one.
WORD_JOINER = "\u2060"


def markdown_text(text: str) -> str:
    """`text` shown literally inside Streamlit markdown: markup, `$` (LaTeX) and `&` escaped, and
    no emoji or icon shortcode (":m:", ":material/home:") made of its colons. A web address stays
    a link (GitHub-style markdown links it whatever is escaped): show text that may hold one as a
    `code_span`."""
    return "".join("\\:" + WORD_JOINER if ch == ":" else "\\" + ch if ch in MARKDOWN_SPECIAL else ch
                   for ch in text)


def code_span(text: str) -> str:
    """`text` as a markdown code span, shown literally: no markup, LaTeX, HTML or web address
    inside one is rendered (backticks inside need a longer fence)."""
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{fence} {text} {fence}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 head', '2 heads': a count with its noun in the right number (plural: noun + 's')."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def agreeing(count: int, one: str, many: str) -> str:
    """The word that agrees with `count`: agreeing(1, "is", "are") is "is" ("1 token(s) are" read
    on three pages)."""
    return one if count == 1 else many


def readable(value: float) -> str:
    """A number as a sentence for students says it: '0.42', '18.0', '3,230', '4.1 million',
    'NaN', 'infinity' (the format "%.3g" had printed a gradient norm as 4.06e+06)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "minus infinity"
    size = abs(value)
    sign = "−" if value < 0 else ""  # a minus sign, as the charts write it, not a hyphen
    if size >= 1e6:
        for word, scale in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
            if size >= scale:
                return f"{sign}{size / scale:,.1f} {word}"
    if size >= 1000:
        return f"{sign}{size:,.0f}"
    return sign + (f"{size:.1f}" if size >= 10 else f"{size:.2f}")


def signed(value: float, digits: int = 2) -> str:
    """'+0.12', '−0.12' (a minus sign, as the charts write it), '0.00' for what rounds to zero."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}"
    return text.replace("-", "−")


def plain(value: float, digits: int = 2) -> str:
    """'0.12', '−0.12': a number with a minus sign, not a hyphen ('-0.00' reads '0.00')."""
    text = f"{value:.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text.replace("-", "−")


def sentence(message: str) -> str:
    """A library's message ("the file is not UTF-8 text …", lower case for the CLI's "lmviz:
    error: …") as a sentence on a page: its first letter in upper case."""
    return message[:1].upper() + message[1:]


def message(text: str) -> str:
    """A note or error as a page shows it: a `sentence` with its full stop ("…: using the last"
    and "the file is not UTF-8 text (bad byte at position 3)" had none)."""
    text = sentence(text.rstrip())
    return text if text.endswith((".", "!", "?")) else text + "."
