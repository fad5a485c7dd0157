"""Next-token bars at the chosen sampling settings over T = 1, and generated text shaded by confidence."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go

from lmviz.figures.style import (
    FIXED_AXIS,
    LEGEND_ABOVE,
    MUTED,
    VAL_COLOR,
    figure,
    show_whitespace,
    token_color,
)
from lmviz.figures.tokens import escape_html
from lmviz.next_token import TokenBars
from lmviz.sampling import Step
from lmviz.tokenizers import UNK


def bar_labels(pieces: Sequence[str]) -> list[str]:
    """Whitespace made visible and escaped (Plotly reads a little HTML in labels)."""
    return [html.escape(show_whitespace(p), quote=False) for p in pieces]


SHORT_LABEL = 2  # characters: a label this short stays level (char tokens)
TICK_CHAR_PX = 8  # width of one tick-label character at the figures' 13 px font


def tick_room(pieces: Sequence[str]) -> tuple[int, int]:
    """Tick angle and bottom margin (px) for bar labels: level for char tokens; for longer ones
    (words, BPE pieces) angled at -45 so neighbours do not overlap, with the margin grown by the
    longest label's drop so it and the axis title below it stay on the figure. '<unk>' is not
    measured: every vocabulary has it, and a char chart stays level with it."""
    longest = max((len(show_whitespace(p)) for p in pieces if p != UNK), default=0)
    if longest <= SHORT_LABEL:
        return 0, 60
    drop = round(longest * TICK_CHAR_PX * math.sin(math.radians(45)))
    return -45, 60 + drop


OUTLINE = "#334155"  # the sampled bars' edge


def figure_next_token(bars: TokenBars, temperature: float, log_y: bool = False,
                      title: str | None = None) -> go.Figure:
    """Colored bars: the distribution sampled from; grey bars behind: T = 1; hatched red outlines
    and red labels: tokens cut by top-k / top-p (their height before the cut)."""
    labels = bar_labels(bars.pieces)
    x = list(range(len(labels)))  # positions, so two identical-looking labels stay apart
    traces: list[dict] = [
        {"type": "bar", "x": x, "y": bars.base_probs, "name": "T = 1", "marker": {"color": MUTED},
         "opacity": 0.55, "width": 0.9, "customdata": labels,
         "hovertemplate": "%{customdata}: %{y:.3f} at T = 1<extra></extra>"},
        {"type": "bar", "x": x, "y": bars.probs, "legendgroup": "sampled", "showlegend": False,
         "marker": {"color": [token_color(i) for i in bars.ids], "line": {"color": OUTLINE, "width": 1}},
         "width": 0.55, "customdata": labels,
         "hovertemplate": "%{customdata}: %{y:.3f} sampled from<extra></extra>"},
        # the legend's key for the bars above: their own swatch took the first token's color
        {"type": "bar", "x": [None], "y": [None], "legendgroup": "sampled", "hoverinfo": "skip",
         "name": f"T = {temperature:g}, after top-k / top-p (a color per token)",
         "marker": {"color": "#ffffff", "line": {"color": OUTLINE, "width": 1}}},
    ]
    cut = [i for i, c in enumerate(bars.cut) if c]
    if cut:
        traces.append(
            {"type": "bar", "x": cut, "y": [bars.tempered[i] for i in cut], "name": "cut by top-k / top-p",
             "marker": {"color": "rgba(0,0,0,0)", "line": {"color": VAL_COLOR, "width": 1.5},
                        "pattern": {"shape": "x", "fgcolor": VAL_COLOR, "size": 6}},
             "width": 0.55, "customdata": [labels[i] for i in cut],
             "hovertemplate": "%{customdata}: cut (was %{y:.3f})<extra></extra>"})
    ticks = [f'<span style="color:{VAL_COLOR}">{label}</span>' if c else label
             for label, c in zip(labels, bars.cut, strict=True)]
    yaxis = ({"title": {"text": "probability (log scale)"}, "type": "log", "exponentformat": "power",
              "dtick": 1} if log_y else {"title": {"text": "probability"}, "rangemode": "tozero"})
    yaxis.update(FIXED_AXIS)
    angle, bottom = tick_room(bars.pieces)
    return figure(traces, title, height=320 + bottom, barmode="overlay", bargap=0.1, legend=LEGEND_ABOVE,
                  xaxis={"tickmode": "array", "tickvals": x, "ticktext": ticks, "tickangle": angle,
                         "title": {"text": "next token (most likely at T = 1 first)"}, **FIXED_AXIS},
                  margin={"l": 60, "r": 20, "t": 40, "b": bottom},
                  yaxis=yaxis)


def _shade(probability: float) -> str:
    """Background of a generated token: pale for an unsure pick, deep blue for a sure one."""
    return f"rgba(37,99,235,{0.08 + 0.62 * min(max(probability, 0.0), 1.0):.2f})"


def generation_html(prompt: str, steps: Sequence[Step]) -> str:
    """The prompt in grey, then each generated token shaded by the probability the model gave it
    (hover: p and rank). Spaces keep their width, a newline shows as ↵ and breaks the line; a
    picked token of spaces shows a faint · per space (shaded blank, it read as a missing letter),
    where a line may break as at a space.

    Safe for `st.markdown(..., unsafe_allow_html=True)`: every piece is escaped and the result has
    no newline (a blank line would end the HTML block)."""
    def text(piece: str) -> str:
        return escape_html(piece).replace("\n", "↵<br>").replace("\t", "⇥")

    def picked(piece: str) -> str:
        if piece and not piece.strip(" "):  # <wbr>: a line may still break there, as at a space
            return f'<span style="opacity:0.5">{"·" * len(piece)}</span><wbr>'
        return text(piece) or "∅"

    spans = "".join(
        f'<span title="p = {s.probability:.3f} · rank {s.rank}" style="background:{_shade(s.probability)};'
        f'border-radius:3px">{picked(s.token)}</span>' for s in steps)
    return ('<div class="lmviz-generation" style="font-family:monospace;white-space:pre-wrap;'
            'line-height:1.8;padding:8px 10px;border:1px solid #e2e8f0;border-radius:6px">'
            f'<span style="color:#64748b">{text(prompt)}</span>{spans}</div>')


def model_heading_html(label: str, parameters: int, surprise_bits: float | None) -> str:
    """'<b>LSTM</b> · 93,731 parameters · average surprise 3.23 bits', the last with a tooltip."""
    surprise = f"{surprise_bits:.2f} bits" if surprise_bits is not None else "—"
    return (f"<b>{escape_html(label)}</b> · {parameters:,} parameters · "
            '<span title="Mean of −log₂ p over the picked tokens, p after temperature, top-k and top-p: 0 = every pick had p = 1 (as at temperature 0)">'
            f"average surprise <b>{surprise}</b></span>")
