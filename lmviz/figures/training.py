"""Loss, gradient-norm and learning-rate curves from training events."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from lmviz.figures.style import ACCENT, LEGEND_ABOVE, MUTED, TRAIN_COLOR, VAL_COLOR, figure
from lmviz.run import Event

# a log axis spanning about a decade labels its ticks by their first digit alone ("2, 3, ..., 9,
# 1, 2" for 0.2 ... 2); a tick format makes Plotly print every tick's value (0.2, 0.3, ..., 2)
LOG_AXIS = {"type": "log", "tickformat": "~g"}
# Plotly's automatic ticks (plotly.js axes.autoTicks): on a step axis about a tenth of the range
# apart, rounded to 1, 2 or 5 times a power of ten: 0.5 for a run that stopped at step 3 (1, 1.5,
# 2, ...) and whole numbers from a range of about 5 on; on a log axis spanning one to a few
# decades "D1", a tick at every digit (0.3, 0.4, ..., 0.9, 1, 2, 3), printed in full on top of
# each other.
FEW_STEPS = 10  # up to this many steps, a tick at every step
FEW_DECADES = 0.8  # below this (a little under a decade with Plotly's padding), its linear ticks
MANY_DECADES = 2.5  # up to this, ticks at 1, 2 and 5 times a power of ten; above, powers of ten
CORNER_LEGEND = {"x": 1, "xanchor": "right", "y": 1, "yanchor": "top", "bgcolor": "rgba(255,255,255,0.8)"}
# a blow-up climbs to the top right, where training stopped; the top left is what stays empty
LEFT_LEGEND = {**CORNER_LEGEND, "x": 0, "xanchor": "left"}
STOP_COLOR = "#3c4048"  # where a diverged training stopped: not the validation's red


def _finite(values: Sequence[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def step_axis(steps: Sequence[int]) -> dict[str, object]:
    """An x axis of training steps that ticks at whole steps only."""
    few = bool(steps) and max(steps) - min(steps) <= FEW_STEPS
    return {"title": "step", **({"tick0": 0, "dtick": 1} if few else {})}


def log_axis(values: Sequence[float | None], title: object) -> dict[str, object]:
    """A log y axis whose tick labels stay apart whatever span `values` cover."""
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    decades = math.log10(max(positive)) - math.log10(min(positive)) if positive else 0.0
    if decades < FEW_DECADES:
        ticks: dict[str, object] = {}  # Plotly's own: linear in value, each printed in full
    elif decades <= MANY_DECADES:
        ticks = {"dtick": "D2"}  # 0.2, 0.5, 1, 2, 5, 10, ...
    else:  # 1, 10, 100, ... or every second or third power when there are many
        ticks = {"dtick": math.ceil(decades / 6)}
    return {"title": title, **LOG_AXIS, **ticks}


def _hline(y: float, line: dict[str, object]) -> dict[str, object]:
    """A horizontal line across the plot at `y` (add_hline's shape)."""
    return {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
            "line": line}


def _label(text: str, x: float, y: float, xref: str, yref: str, yanchor: str) -> dict[str, object]:
    """A label ending at (x, y), above (yanchor "bottom") or below ("top") it (add_hline's)."""
    return {"text": text, "showarrow": False, "x": x, "y": y, "xref": xref, "yref": yref,
            "xanchor": "right", "yanchor": yanchor}


def figure_loss(events: Sequence[Event], target: float | None = None,
                title: str = "Loss (nats per token)") -> go.Figure:
    """Train loss at every report, validation loss where evaluated, optional target line."""
    evals = [e for e in events if e.val_loss is not None]
    traces = [
        {"type": "scatter", "x": [e.step for e in events], "y": _finite([e.train_loss for e in events]),
         "mode": "lines+markers", "marker": {"size": 3}, "name": "train",
         "line": {"color": TRAIN_COLOR}},  # markers: the first report is one point
        {"type": "scatter", "x": [e.step for e in evals], "y": _finite([e.val_loss for e in evals]),
         "mode": "lines+markers", "name": "validation", "line": {"color": VAL_COLOR}},
    ]
    shapes, labels = [], []
    if target is not None:
        shapes.append(_hline(target, {"dash": "dot", "color": MUTED}))
        # readable where the curves end near it, running through its text
        labels.append({**_label("60% of unigram entropy", 1, target, "x domain", "y", "bottom"),
                       "bgcolor": "rgba(255,255,255,0.85)"})
    # the legend in the plot's top right, which a falling loss leaves empty (at its right it
    # took a fifth of a phone's plot width); above the plot where validation ends high, climbing
    # into that corner (a model that learned its text by heart, where the page points to it)
    placed: dict[str, object] = {"legend": CORNER_LEGEND}
    if _ends_high([e.val_loss for e in evals], [e.train_loss for e in events], target):
        placed = {"legend": LEGEND_ABOVE, "margin": {"l": 40, "r": 20, "t": 80 if title else 40, "b": 40}}
    return figure(traces, title, height=320, shapes=shapes, annotations=labels, **placed,
                  xaxis=step_axis([e.step for e in events]), yaxis={"title": "loss"})


def _ends_high(validation: Sequence[float | None], train: Sequence[float | None],
               target: float | None = None) -> bool:
    """Whether the validation curve ends in the upper half of the axis: the losses' range, and
    the target line's, which stretches it (a loss flat at 4.1 over a target of 1.8 ran under the
    legend, though in the upper half of the losses alone)."""
    finite = [v for v in [*validation, *train, target] if v is not None and math.isfinite(v)]
    last = next((v for v in reversed(validation) if v is not None and math.isfinite(v)), None)
    return last is not None and last > (min(finite) + max(finite)) / 2


def figure_grad_lr(events: Sequence[Event]) -> go.Figure:
    """Gradient norm (left axis, log) and learning rate (right axis) per report."""
    steps = [e.step for e in events]
    traces = [
        {"type": "scatter", "x": steps, "y": _finite([e.grad_norm for e in events]),
         "name": "gradient norm", "line": {"color": ACCENT}},
        {"type": "scatter", "x": steps, "y": [e.lr for e in events], "name": "learning rate",
         "yaxis": "y2", "line": {"color": TRAIN_COLOR, "dash": "dash"}},
    ]
    # each axis title in its line's colour names the line: no legend (below the plot, it ran
    # into the step axis on a phone)
    return figure(traces, "Gradient norm and learning rate", height=300, xaxis=step_axis(steps),
                  yaxis=log_axis(traces[0]["y"], {"text": "gradient norm (solid)", "font": {"color": ACCENT}}),
                  # its own round ticks: Plotly 7 syncs an overlaying axis to the left one's grid,
                  # which put the rates at uneven values (0.00912, 0.00679, ...)
                  yaxis2={"title": {"text": "learning rate (dashed)", "font": {"color": TRAIN_COLOR}},
                          "overlaying": "y", "side": "right", "tickmode": "auto", "showgrid": False,
                          # from 0: a run stopped after 2 steps drew both lines corner to corner,
                          # one on top of the other
                          "tickformat": "~g", "rangemode": "tozero"},
                  showlegend=False)


def figure_blowup(events: Sequence[Event], uniform_loss: float) -> go.Figure:
    """A diverged training: the loss (log axis) until it shot past a uniform guess, with the
    gradient norm in the hover, validation losses where evaluated (then a legend names both); a
    dark line where training was stopped."""
    evals = [e for e in events if e.val_loss is not None]
    loss = {"type": "scatter", "x": [e.step for e in events], "y": _finite([e.train_loss for e in events]),
            "customdata": _finite([e.grad_norm for e in events]), "mode": "lines+markers",
            "name": "train loss", "line": {"color": TRAIN_COLOR},
            "hovertemplate": "step %{x}: loss %{y:.3g}, gradient norm %{customdata:.3g}<extra></extra>"}
    # it stands in for the loss chart of a diverged run: the evaluations before it blew up stay
    validation = {"type": "scatter", "x": [e.step for e in evals], "y": _finite([e.val_loss for e in evals]),
                  "mode": "lines+markers", "name": "validation loss", "line": {"color": VAL_COLOR},
                  "hovertemplate": "step %{x}: validation loss %{y:.3g}<extra></extra>"}
    shapes = [_hline(uniform_loss, {"dash": "dash", "color": MUTED})]
    # an annotation on a log axis is placed in log10 units (a shape in data units): at 4.2 it
    # sat at 10^4.2 and stretched the axis to 10,000
    # at the left end of its line: the stop line runs down the right edge (the last step), and
    # cut "ln V" in two there
    uniform = {**_label("a uniform guess (ln V)", 0, math.log10(uniform_loss), "x domain", "y", "top"),
               "xanchor": "left"}
    labels = [uniform]
    if events:
        stop = events[-1].step
        shapes.append({"type": "line", "xref": "x", "x0": stop, "x1": stop, "yref": "y domain",
                       "y0": 0, "y1": 1, "line": {"color": STOP_COLOR}})
        # at the foot of the stop line: at its top it lay over the blown-up last point
        labels.append({**_label("stopped: diverged", stop, 0, "x", "y domain", "bottom"), "xshift": -4})
    for label in labels:  # readable over a line or a point
        label["bgcolor"] = "rgba(255,255,255,0.85)"
    return figure([loss, validation] if evals else [loss], "Where the training blew up", height=300,
                  shapes=shapes, annotations=labels, showlegend=bool(evals), legend=LEFT_LEGEND,
                  xaxis=step_axis([e.step for e in events]),
                  yaxis=log_axis([*loss["y"], *validation["y"], uniform_loss], "loss (log scale)"))
