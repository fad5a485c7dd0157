"""Trainings in background threads, shared by key: identical settings train once.

The app holds one RunStore for built-in corpora (shared by every visitor) and one per visitor
for uploaded text. A process-wide semaphore (`gate`) lets only so many trainings run at once;
the rest wait in line and say so. A shared training stops only when every session that asked for
it has let go (`Job.release`): one visitor's Cancel never cancels another's training. Given an
`alive` check, a store also lets go for the sessions that have gone (a closed tab) once none of
a training's holders has been there for `grace` seconds: nobody is left to see it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lmviz.corpora import ASSETS
from lmviz.models import ModelConfig
from lmviz.run import Event, Run, RunError, TrainConfig, load_run, run_key
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import Training

SHIPPED_RUNS = ASSETS / "runs"
LOOK_EVERY_SECONDS = 0.4  # how often a viewer looks at a training: a few redraws a second at most
# Streamlit keeps a closed tab's session 2 minutes for it to come back (a network blip, a reload)
GONE_GRACE_SECONDS = 120.0
WATCH_EVERY_SECONDS = 5.0  # how often a store looks whether a training's holders are still there


@dataclass
class Job:
    """One training in a thread; readers poll `events` and wait on `changed`."""

    key: str
    events: list[Event] = field(default_factory=list)
    state: str = "queued"  # queued -> training -> done | failed
    run: Run | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    holders: set[str] = field(default_factory=set)  # who asked for this training and still wants it
    gone_since: float | None = None  # when its holders were last all found gone

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed")

    def wait(self, timeout: float) -> None:
        """Block until something changes (a new event, a new state) or timeout seconds pass."""
        with self.changed:
            if not self.done:
                self.changed.wait(timeout)

    def sleep_until(self, deadline: float, since: int | None = None) -> None:
        """Block until time.monotonic() reaches `deadline` or the job has ended, or, given
        `since`, until an event after the first `since` has a validation loss; other new events
        do not wake it."""
        with self.changed:
            while not self.done and (left := deadline - time.monotonic()) > 0:
                if since is not None and any(e.val_loss is not None for e in self.events[since:]):
                    return
                self.changed.wait(left)

    def looks(self, every: float = LOOK_EVERY_SECONDS) -> Iterator[list[Event]]:
        """The events so far, at once, then at most once every `every` seconds, at once for a
        validation, and once more as soon as the job ends: how a viewer follows a training
        without slowing it. Drawing on each event would hold the GIL that the training thread
        needs to launch its GPU kernels (a GPU step takes ~5 ms, so progress events can come
        many times a second); validations come a few times a training (`eval_every`), and a
        viewer waiting for the loss to reach a target sees it when it does."""
        looked, seen = -math.inf, 0
        while True:
            self.sleep_until(looked + every, since=seen)
            looked = time.monotonic()
            done = self.done  # before reading the events: the last one lands before the state changes
            events = list(self.events)
            seen = len(events)
            yield events
            if done:
                return

    def hold(self, holder: str) -> bool:
        """`holder` wants this training too; False (not held) once it is stopping or over. One
        step under the lock `release` cancels under: no one joins a training as it stops."""
        with self.changed:
            if self.done or self.cancel.is_set():
                return False
            self.holders.add(holder)
            return True

    def release(self, holder: str) -> bool:
        """`holder` no longer wants this training; it stops (True) when no one else does. A
        holder whose tab has closed still counts: it may come back (a locked phone, a network
        blip) until the store's watcher has seen it gone for its grace (`stop_if_abandoned`)."""
        with self.changed:
            self.holders.discard(holder)
            if self.holders or self.done:
                return False
            self.cancel.set()
            return True

    def stop_if_abandoned(self, alive: Callable[[str], bool], now: float, grace: float) -> bool:
        """Stop the training (True) once none of its holders has been `alive` for `grace`
        seconds up to `now`; one that comes back in time keeps it."""
        with self.changed:
            if self.done or self.cancel.is_set():
                return False
            if any(alive(holder) for holder in self.holders):
                self.gone_since = None
                return False
            self.gone_since = now if self.gone_since is None else self.gone_since
            if now - self.gone_since < grace:
                return False
            self.holders.clear()
            self.cancel.set()
            return True

    def _update(self, **changes) -> None:
        with self.changed:
            for name, value in changes.items():
                setattr(self, name, value)
            self.changed.notify_all()


class RunStore:
    """Finished runs (LRU, bounded) and trainings in flight, by run key."""

    def __init__(self, gate: threading.Semaphore, max_runs: int = 24,
                 shipped: Path | None = SHIPPED_RUNS, alive: Callable[[str], bool] | None = None,
                 grace: float = GONE_GRACE_SECONDS, watch_every: float = WATCH_EVERY_SECONDS) -> None:
        self.gate = gate
        self.alive, self.grace, self.watch_every = alive, grace, watch_every
        self.max_runs = max_runs
        self.shipped = shipped
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> Run | None:
        with self.lock:
            if key in self.runs:
                self.runs.move_to_end(key)
                return self.runs[key]
        if self.is_shipped(key):
            try:
                run = load_run(self.shipped / key)
            except RunError:
                return None
            self._keep(run)
            return run
        return None

    def is_shipped(self, key: str) -> bool:
        """Whether this run ships with the app (assets/runs), built on another machine."""
        return self.shipped is not None and (self.shipped / key).is_dir()

    def running(self, key: str) -> Job | None:
        """The training in flight for this key, if one is (queued or training, not stopping)."""
        with self.lock:
            job = self.jobs.get(key)
        return job if job is not None and not job.cancel.is_set() else None

    def _keep(self, run: Run) -> None:
        with self.lock:
            self.runs[run.key] = run
            self.runs.move_to_end(run.key)
            while len(self.runs) > self.max_runs:
                self.runs.popitem(last=False)

    def submit(self, text: str, corpus: str, tokenizer: TokenizerConfig, model: ModelConfig,
               train: TrainConfig, holder: str = "", start: bool = True) -> Job | None:
        """Start (or join) the training for these settings, held by `holder` (a session); a
        finished run gives a done job. With `start` False, only join or find: None where
        neither is there (a training that stopped since someone looked)."""
        key = run_key(text, tokenizer, model, train)
        found = self.get(key)  # loads a shipped run from disk, outside the lock
        with self.lock:
            # a training of this key may have ended since that look: its run, not a second one
            found = found or self.runs.get(key)
            if found is not None:
                return Job(key=key, state="done", run=found, events=list(found.history))
            running = self.jobs.get(key)
            if running is not None and running.hold(holder):
                return running
            # a training that is stopping (everyone let go) is not joined: it would end cancelled
            if not start:
                return None
            job = Job(key=key, holders={holder})
            self.jobs[key] = job
        worker = threading.Thread(target=self._train, name=f"lmviz-train-{key}",
                                  args=(job, text, corpus, tokenizer, model, train), daemon=True)
        worker.start()
        if self.alive is not None:
            threading.Thread(target=self._watch, name=f"lmviz-watch-{key}", args=(job,), daemon=True).start()
        return job

    def _watch(self, job: Job) -> None:
        """Until the training ends: stop it once its holders have all gone (`alive`)."""
        alive = self.alive
        while not job.cancel.wait(self.watch_every) and not job.done:
            try:
                job.stop_if_abandoned(alive, time.monotonic(), self.grace)
            except Exception:  # a lookup that fails says nothing: keep the training, look again
                continue

    def _train(self, job: Job, text: str, corpus: str, tokenizer: TokenizerConfig,
               model: ModelConfig, train: TrainConfig) -> None:
        try:
            with self.gate:
                if job.cancel.is_set():
                    job._update(state="failed", error="cancelled before it started")
                    return
                job._update(state="training")
                training = Training(text, corpus, tokenizer, model, train, cancel=job.cancel)
                for event in training:
                    job._update(events=[*job.events, event])
                run = training.run
            if run is not None and run.outcome != "cancelled":
                self._keep(run)
            job._update(state="done", run=run)
        except Exception as err:
            job._update(state="failed", error=str(err) or type(err).__name__)
        finally:
            with self.lock:  # finished runs live in self.runs; a failed key may be tried again
                if self.jobs.get(job.key) is job:
                    del self.jobs[job.key]
