"""Loss, gradient-norm and learning-rate curves from training events."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from lmviz.figures.style import ACCENT, MUTED, TRAIN_COLOR, VAL_COLOR, base_layout
from lmviz.run import Event


def _finite(values: Sequence[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def figure_loss(events: Sequence[Event], target: float | None = None,
                title: str = "Loss (nats per token)") -> go.Figure:
    """Train loss at every report, validation loss where evaluated, optional target line."""
    fig = go.Figure()
    fig.add_scatter(x=[e.step for e in events], y=_finite([e.train_loss for e in events]),
                    mode="lines+markers", marker={"size": 3}, name="train",
                    line={"color": TRAIN_COLOR})  # markers: the first report is one point
    evals = [e for e in events if e.val_loss is not None]
    fig.add_scatter(x=[e.step for e in evals], y=_finite([e.val_loss for e in evals]),
                    mode="lines+markers", name="validation", line={"color": VAL_COLOR})
    if target is not None:
        fig.add_hline(y=target, line={"dash": "dot", "color": MUTED},
                      annotation_text="60% of unigram entropy", annotation_position="top right")
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="loss")
    return base_layout(fig, title, height=320)


def figure_grad_lr(events: Sequence[Event]) -> go.Figure:
    """Gradient norm (left axis, log) and learning rate (right axis) per report."""
    fig = go.Figure()
    steps = [e.step for e in events]
    fig.add_scatter(x=steps, y=_finite([e.grad_norm for e in events]), name="gradient norm",
                    line={"color": ACCENT})
    fig.add_scatter(x=steps, y=[e.lr for e in events], name="learning rate", yaxis="y2",
                    line={"color": TRAIN_COLOR, "dash": "dash"})
    fig.update_layout(yaxis={"title": "gradient norm", "type": "log"},
                      yaxis2={"title": "learning rate", "overlaying": "y", "side": "right"},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title="step")
    return base_layout(fig, "Gradient norm and learning rate", height=300)


def figure_blowup(events: Sequence[Event], uniform_loss: float) -> go.Figure:
    """A diverged training: the loss (log axis) until it shot past a uniform guess, with the
    gradient norm in the hover; a red line where training was stopped."""
    fig = go.Figure()
    fig.add_scatter(x=[e.step for e in events], y=_finite([e.train_loss for e in events]),
                    customdata=_finite([e.grad_norm for e in events]), mode="lines+markers",
                    name="train loss", line={"color": TRAIN_COLOR},
                    hovertemplate="step %{x}: loss %{y:.3g}, gradient norm %{customdata:.3g}"
                                  "<extra></extra>")
    fig.add_hline(y=uniform_loss, line={"dash": "dash", "color": MUTED},
                  annotation_text="a uniform guess (ln V)", annotation_position="bottom right")
    if events:
        fig.add_vline(x=events[-1].step, line={"color": VAL_COLOR},
                      annotation_text="stopped: diverged", annotation_position="top left")
    fig.update_yaxes(title="loss (log scale)", type="log")
    fig.update_xaxes(title="step")
    fig.update_layout(showlegend=False)
    return base_layout(fig, "Where the training blew up", height=300)
