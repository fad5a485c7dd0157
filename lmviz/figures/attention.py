"""Attention pictures: one head's query × key map (masked cells grey), all heads as small
multiples, one query's steps (scores → scaled → softmax → weighted sum), induction scores."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lmviz.attention_math import InductionScores, QueryStep, masked_attention
from lmviz.figures.labels import tick_positions
from lmviz.figures.style import ACCENT, GATE_SCALE, MUTED, TRAIN_COLOR, base_layout

MASKED_COLOR = "#d9d9d9"  # cells a query cannot see (keys after it): drawn as the plot background


def _token_axes(fig: go.Figure, labels: list[str], **where) -> None:
    ticks = tick_positions(len(labels), max_labels=32)
    text = [labels[i] for i in ticks]
    fig.update_xaxes(tickvals=ticks, ticktext=text, tickangle=-60, showgrid=False, **where)
    fig.update_yaxes(tickvals=ticks, ticktext=text, autorange="reversed", showgrid=False, **where)


def figure_attention(weights: np.ndarray, labels: list[str], title: str | None = None,
                     query: int | None = None) -> go.Figure:
    """One head's (T, T) weights: rows are queries, columns keys; masked (future) cells grey."""
    length = weights.shape[0]
    z = masked_attention(weights)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(length)), y=list(range(length)), colorscale=GATE_SCALE, zmin=0, zmax=1,
        colorbar={"thickness": 12, "title": "weight"}, hoverongaps=False,
        hovertemplate="query %{y} → key %{x}: %{z:.3f}<extra></extra>"))
    _token_axes(fig, labels)
    fig.update_xaxes(title="key (attended to)")
    fig.update_yaxes(title="query (attending)")
    if query is not None and 0 <= query < length:
        fig.add_shape(type="rect", x0=-0.5, x1=query + 0.5, y0=query - 0.5, y1=query + 0.5,
                      line={"color": ACCENT, "width": 3})
    size = min(620, 260 + 8 * length)
    return base_layout(fig, title, height=size).update_layout(plot_bgcolor=MASKED_COLOR)


def figure_head_grid(attention: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """All heads as small multiples: one row per layer, one column per head."""
    layers, heads = attention.shape[:2]
    fig = make_subplots(rows=layers, cols=heads, horizontal_spacing=0.02, vertical_spacing=0.06,
                        subplot_titles=[f"L{ly} H{h}" for ly in range(layers) for h in range(heads)])
    for ly in range(layers):
        for h in range(heads):
            fig.add_trace(go.Heatmap(
                z=masked_attention(attention[ly, h]), coloraxis="coloraxis", hoverongaps=False,
                hovertemplate=f"layer {ly} head {h}: query %{{y}} → key %{{x}}: %{{z:.3f}}<extra></extra>"),
                row=ly + 1, col=h + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    if selected is not None:
        ly, h = selected
        fig.update_xaxes(showline=True, linecolor=ACCENT, linewidth=3, mirror=True, row=ly + 1, col=h + 1)
        fig.update_yaxes(showline=True, linecolor=ACCENT, linewidth=3, mirror=True, row=ly + 1, col=h + 1)
    fig.update_layout(coloraxis={"colorscale": GATE_SCALE, "cmin": 0, "cmax": 1,
                                 "colorbar": {"thickness": 12}})
    base_layout(fig, None, height=60 + 190 * layers)
    fig.update_layout(plot_bgcolor=MASKED_COLOR, margin={"t": 40})
    return fig


def figure_query_steps(step: QueryStep, labels: list[str]) -> go.Figure:
    """Three rows over the visible keys: raw q·k, divided by √d, and the softmax weights."""
    keys = list(range(step.query + 1))
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=[
        "1 · raw score q·k", f"2 · scaled: q·k / √{step.head_size} = q·k / {step.scale:.2f}",
        f"3 · softmax weight (sums to {step.weight_sum:.4f})"])
    for row, (values, color) in enumerate(((step.scores, MUTED), (step.scaled, TRAIN_COLOR),
                                           (step.weights, ACCENT)), start=1):
        fig.add_bar(x=keys, y=values, marker={"color": color}, showlegend=False, row=row, col=1,
                    customdata=[labels[j] for j in keys],
                    hovertemplate="key %{customdata}: %{y:.4f}<extra></extra>")
    ticks = tick_positions(len(keys), max_labels=32)
    fig.update_xaxes(tickvals=ticks, ticktext=[labels[j] for j in ticks], tickangle=-60, row=3, col=1)
    fig.update_yaxes(range=[0, 1], row=3, col=1)
    return base_layout(fig, None, height=520)


def figure_weighted_sum(step: QueryStep, labels: list[str], rows: int = 6) -> go.Figure:
    """The weighted value vectors w_j·v_j of the most attended keys and their sum, the output
    (the remaining keys are included in the sum, not drawn)."""
    top = sorted(step.top_keys(rows))
    contributions = step.weights[top, None] * step.values[top]  # (rows, d)
    z = np.vstack([contributions, step.output[None, :]])
    names = [f"{step.weights[j]:.2f} · v[{labels[j]}]" for j in top] + ["output Σ w·v"]
    span = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=z, y=names, colorscale="RdBu_r", zmin=-span, zmid=0, zmax=span,
                               colorbar={"thickness": 12},
                               hovertemplate="%{y}, dim %{x}: %{z:.3f}<extra></extra>"))
    fig.add_hline(y=len(top) - 0.5, line={"color": "#333", "width": 2})
    fig.update_xaxes(title="dimension of the head's value vector")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, None, height=120 + 34 * len(names))


def figure_induction(scores: InductionScores) -> go.Figure:
    """Per head (layers × heads), the prefix-matching score, with uniform attention as a reference."""
    layers, heads = scores.scores.shape
    fig = go.Figure(go.Heatmap(
        z=scores.scores, x=[f"head {h}" for h in range(heads)], y=[f"layer {ly}" for ly in range(layers)],
        colorscale=GATE_SCALE, zmin=0, zmax=1, text=np.round(scores.scores, 2), texttemplate="%{text}",
        colorbar={"thickness": 12}, hovertemplate="%{y} %{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, f"Attention to “the token after the earlier occurrence” "
                            f"(uniform attention: {scores.chance:.2f})", height=110 + 60 * layers)


def query_latex(step: QueryStep, key: int) -> str:
    """The steps for one key of the query with their numbers, as one aligned LaTeX block."""
    t, j = step.query, key
    shift = float(step.scaled.max()) if step.scaled.max() > 50 else 0.0  # avoid overflow only
    denominator = float(np.exp(step.scaled - shift).sum())
    exponent = step.scaled[j] - shift
    shifted = rf" - {shift:.4f}" if shift else ""
    lines = [
        rf"q_{{{t}}} \cdot k_{{{j}}} &= {step.scores[j]:.4f}",
        rf"s_{{{t},{j}}} &= \frac{{q_{{{t}}} \cdot k_{{{j}}}}}{{\sqrt{{d}}}} = "
        rf"\frac{{{step.scores[j]:.4f}}}{{\sqrt{{{step.head_size}}}}} = {step.scaled[j]:.4f}",
        rf"w_{{{t},{j}}} &= \frac{{e^{{s_{{{t},{j}}}{shifted}}}}}{{\sum_{{m \le {t}}} e^{{s_{{{t},m}}{shifted}}}}} = "
        rf"\frac{{e^{{{exponent:.4f}}}}}{{{denominator:.4f}}} = {step.weights[j]:.4f}",
        rf"\textstyle\sum_{{m \le {t}}} w_{{{t},m}} &= {step.weight_sum:.6f}",
        rf"o_{{{t}}} &= \textstyle\sum_{{m \le {t}}} w_{{{t},m}}\, v_m, \quad \lVert o_{{{t}}} \rVert = "
        rf"{step.output_norm:.4f}",
    ]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def query_rows(step: QueryStep, labels: list[str]) -> list[dict]:
    """One row per visible key: its numbers at each step, for a table."""
    norms = np.linalg.norm(step.values, axis=1)
    return [{"key": labels[j], "q·k": float(step.scores[j]), "q·k / √d": float(step.scaled[j]),
             "weight": float(step.weights[j]), "‖v‖": float(norms[j])} for j in range(step.query + 1)]
