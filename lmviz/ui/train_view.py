"""Live view of a training job: progress bar, loss curve and samples, redrawn a few times a second."""

from __future__ import annotations

import time
from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from lmviz.figures.training import figure_grad_lr, figure_loss
from lmviz.jobs import Job
from lmviz.run import Event
from lmviz.run_compare import time_left
from lmviz.ui.charts import chart


def live_training(job: Job, label: str, compact: bool = False) -> None:
    """Watch a job until it ends. Any click reruns the page and stops watching, not training."""
    status = st.empty()
    bar = st.progress(0.0)
    loss_box = st.empty()
    sample_box = st.empty()
    drawn = -1
    for events in job.looks():  # drawing never waits on training: we only look at its events
        if job.state == "queued":
            status.info(f"{label}: waiting in line — other trainings are using the server.")
        elif events and len(events) != drawn:
            status.empty()
            last = events[-1]
            bar.progress(min(1.0, last.step / last.steps),
                         text=f"{label}: step {last.step}/{last.steps}, loss {last.train_loss:.3f}, "
                              f"{last.tokens_per_second:,.0f} tokens/s"
                              + (f", {left}" if (left := time_left(last)) else ""))
            if not compact:
                chart(figure_loss(events), key=f"live-{time.monotonic()}", where=loss_box)
                samples = [e for e in events if e.sample]
                if samples:  # the latest text the model wrote, as it arrives
                    sample_box.code(f"step {samples[-1].step}: {samples[-1].sample}",
                                    language=None, wrap_lines=True)
            drawn = len(events)
        elif not events:
            status.info(f"{label}: starting…")
    status.empty()
    bar.empty()
    loss_box.empty()  # the page draws the finished curves (render_history)
    sample_box.empty()


def render_history(events: Sequence[Event], target: float | None = None, key: str = "history",
                   loss_chart: go.Figure | None = None) -> None:
    """The finished curves of a run (`events`: its history): the loss (`loss_chart` if given,
    else `figure_loss`) beside the gradient norm and learning rate."""
    if not events:
        return
    left, right = st.columns(2)
    chart(figure_loss(events, target) if loss_chart is None else loss_chart, key=f"{key}-loss", where=left)
    chart(figure_grad_lr(events), key=f"{key}-grad-lr", where=right)
