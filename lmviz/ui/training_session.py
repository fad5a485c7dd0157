"""The Training page's session state: the job this visitor started last (kept so that the rerun a
Cancel click causes can find it) and the table of runs they trained. Never global."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from lmviz.jobs import Job
from lmviz.presets import View
from lmviz.run import Run
from lmviz.run_compare import run_row, run_sample
from lmviz.ui.lesson_runs import (
    TRAINING_PAGE_JOB_KEY,
    ask_to_train,
    families_with_the_gpt,
    mark_cancelled,
)
from lmviz.ui.state import (
    MODEL_LABELS,
    finished_run,
    session_holder,
    submit,
    view_key,
)

RUNS_KEY = "training_runs"
SAFE_LR = View().lr


@dataclass(frozen=True)
class StartedTraining:
    job: Job
    label: str
    already: bool  # a finished run for these settings existed: nothing was trained
    left: bool = False  # this session cancelled while another still wanted the training
    asked: bool = True  # False: found for the settings on screen without pressing Train


def start_training(view: View, device: str) -> StartedTraining | None:
    """Train the view's settings on a device, or find the run that already has them. A training
    this page started for other settings and left running is let go: nothing on the page could
    cancel it any more, and it kept one of the server's training slots."""
    job = submit(view, device=device)
    if job is None:
        return None
    previous = started_training()
    if previous is not None and previous.job is not job and not previous.job.done \
            and previous.job.key not in view_keys(view):  # not another family's of this view
        previous.job.release(session_holder())
    ask_to_train(job.key)  # asked for: a lesson page follows it, however long, not waiting
    started = StartedTraining(job, f"Training the {MODEL_LABELS[view.model]}",
                              already=job.done and job.run is not None)
    st.session_state[TRAINING_PAGE_JOB_KEY] = started
    return started


def view_keys(view: View) -> set[str]:
    """The run keys of every model the lesson pages train for this view: the sidebar's, the
    recurrent one beside the GPT, and the GPT (the LSTM trained here before the sidebar moved
    to the GPT is still the Side by side page's)."""
    return {key for family in families_with_the_gpt(view) if (key := view_key(view, family)) is not None}


def started_training() -> StartedTraining | None:
    return st.session_state.get(TRAINING_PAGE_JOB_KEY)


def shown_training(view: View) -> StartedTraining | None:
    """What the page shows: the training this session started, while it runs or while the
    settings are still its own; else the finished run for the settings on screen, if one exists
    (shipped or trained earlier), without pressing Train; else nothing."""
    started, key = started_training(), view_key(view)  # the key hashes the corpus: once a rerun
    if started is not None and (not started.job.done or started.job.key == key):
        return started
    run = finished_run(view, key) if key is not None else None
    if run is None:
        return None
    job = Job(key=run.key, state="done", run=run, events=list(run.history))
    return StartedTraining(job, f"Training the {MODEL_LABELS[view.model]}", already=True, asked=False)


def cancel_training() -> None:
    """Cancel button callback: this session lets go of its training, which stops at its next
    step unless another session is training the same settings (then it goes on for them), and
    the lesson pages train these settings again only when asked."""
    started = started_training()
    if started is None or started.job.done or started.left:
        return
    mark_cancelled(started.job.key)  # a lesson page restarted the cancelled training unasked
    if not started.job.release(session_holder()) and not started.job.done:  # ended meanwhile: its result shows
        st.session_state[TRAINING_PAGE_JOB_KEY] = replace(started, left=True)


def remember(run: Run, prompt: str, keep: bool = True) -> dict:
    """A run's row in this session's table (with a sample), added once if `keep`."""
    rows: list[dict] = st.session_state.setdefault(RUNS_KEY, [])
    for row in rows:
        if row.get("instance") == run.instance:  # these weights (a key trained again is a new row)
            return row
    row = {**run_row(run, run_sample(run, prompt, seed=run.train_config.seed)), "instance": run.instance}
    if keep:
        rows.append(row)
    return row


def session_runs() -> list[dict]:
    return list(st.session_state.get(RUNS_KEY, []))
