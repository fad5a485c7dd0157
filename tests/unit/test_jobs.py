"""Background trainings shared by key: identical settings train once, and one session's Cancel
never stops a training another session still wants."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace

import pytest

from lmviz.jobs import Job, RunStore
from lmviz.models import ModelConfig
from lmviz.run import Event
from lmviz.tokenizers import TokenizerConfig
from tests.unit.conftest import TINY_TRAIN

TOKENIZER = TokenizerConfig("char")
MODEL = ModelConfig(family="lstm", hidden_size=16, context=16)
LONG = replace(TINY_TRAIN, steps=100_000, seed=1)  # only ever ends by being cancelled


@pytest.fixture
def store() -> RunStore:
    return RunStore(threading.Semaphore(2), shipped=None)


def finish(job: Job) -> Job:
    with job.changed:
        assert job.changed.wait_for(lambda: job.done, timeout=120), "the training never ended"
    return job


def started(job: Job) -> Job:
    """Wait for the first report, so the training is under way (not waiting in line)."""
    with job.changed:
        assert job.changed.wait_for(lambda: bool(job.events) or job.done, timeout=120)
    return job


def test_identical_settings_train_once_then_come_from_the_store(store: RunStore, story: str) -> None:
    first = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="a")
    joined = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="b")
    assert joined is first and first.holders == {"a", "b"}
    finish(first)
    assert first.state == "done" and first.run is not None and first.run.outcome == "finished"
    again = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="c")
    assert again is not first and again.done and again.run is first.run
    assert [e.step for e in again.events] == [e.step for e in first.events]


def test_a_training_that_ends_between_the_look_and_the_lock_is_not_trained_again(
        store: RunStore, story: str) -> None:
    """submit looks for a finished run before it takes the lock: a training of the same key
    that ends in between must give its run, not start a second training."""
    first = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="a")
    look = store.get

    def look_then_let_it_end(key: str):
        found = look(key)
        assert found is None  # nothing yet: the training runs (else the race was not made)
        for worker in threading.enumerate():  # its end: the run kept, then the job removed
            if worker.name == f"lmviz-train-{key}":
                worker.join(timeout=120)
        with store.lock:
            assert key not in store.jobs and key in store.runs  # ended, its run kept
        return found

    store.get = look_then_let_it_end  # type: ignore[method-assign]
    second = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="b")
    assert second is not None and second.done and second.run is first.run


def test_one_session_letting_go_does_not_stop_another(store: RunStore, story: str) -> None:
    job = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="a")
    store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="b")
    assert job.release("a") is False and not job.cancel.is_set()
    assert job.release("a") is False  # letting go twice changes nothing
    finish(job)
    assert job.run is not None and job.run.outcome == "finished"
    assert store.get(job.key) is job.run


def test_the_last_session_letting_go_cancels(store: RunStore, story: str) -> None:
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="b")
    assert job.release("b") is False
    assert job.release("a") is True and job.cancel.is_set()
    finish(job)
    assert job.state == "done" and job.run is not None and job.run.outcome == "cancelled"
    assert job.run.final is not None and job.run.final.step < LONG.steps
    assert store.get(job.key) is None  # a half-trained run is never served to anyone
    assert job.release("a") is False  # a late click on an ended training is harmless


def test_asking_again_while_a_cancelled_training_stops_starts_afresh(story: str) -> None:
    """Train again, pressed before the cancelled training has reached its next step, must not
    join it: it would end cancelled, and a page would show its half-trained model."""
    store = RunStore(threading.Semaphore(2), shipped=None)
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    with job.changed:  # the training thread cannot report (nor stop) while this is held
        assert job.release("a") is True
        again = store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a")
    assert again is not job and again.holders == {"a"} and not again.cancel.is_set()
    assert finish(job).run is not None and job.run.outcome == "cancelled"
    assert store.jobs.get(job.key) is again  # the stopped one did not take the new one's place
    started(again).release("a")  # under way: a cancel before the start ends it otherwise
    assert finish(again).run is not None and again.run.outcome == "cancelled"


def test_no_one_holds_a_training_once_it_is_stopping() -> None:
    job = Job(key="k", state="training", holders={"a"})
    assert job.hold("b") is True and job.holders == {"a", "b"}
    assert job.release("a") is False and job.release("b") is True
    assert job.hold("c") is False and job.holders == set()  # stopping: it cannot be joined
    assert Job(key="k", state="done").hold("d") is False


def test_a_cancel_before_the_start_fails_with_a_message(story: str) -> None:
    store = RunStore(threading.Semaphore(1), shipped=None)
    busy = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    waiting = store.submit(story, "story", TOKENIZER, MODEL, replace(LONG, seed=2), holder="b")
    assert waiting.state == "queued"  # one training at a time: it waits in line
    assert waiting.release("b") is True
    busy.release("a")
    assert finish(waiting).state == "failed" and waiting.error == "cancelled before it started"
    assert finish(busy).run is not None and busy.run.outcome == "cancelled"


def _report(job: Job, step: int) -> None:
    """What the training thread does at a log point: append an event and notify."""
    job._update(events=[*job.events, Event(step, 100, 1.0, None, 1.0, 0.01, 1.0, 0.0)])


def test_a_viewer_looks_at_most_every_interval_however_often_events_come() -> None:
    """Drawing on each event would take the GIL from a fast GPU training: a viewer looks at once,
    then at most every `every` seconds, and once more as soon as the training ends."""
    job = Job(key="k", state="training")

    def train() -> None:
        for step in range(1, 61):  # an event every ~5 ms, for ~0.3 s
            _report(job, step)
            time.sleep(0.005)
        job._update(state="done")

    looks: list[tuple[float, int, bool]] = []
    producer = threading.Thread(target=train)
    producer.start()
    for events in job.looks(every=0.1):
        looks.append((time.monotonic(), len(events), job.done))
    producer.join()
    times = [at for at, _, _ in looks]
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]  # the last look: at the end
    assert all(gap >= 0.1 for gap in gaps), gaps
    assert len(looks) <= 2 + (times[-1] - times[0]) / 0.1  # not one look per event (60 of them)
    assert looks[-1][1:] == (60, True)  # the last look sees every event, after the end


def test_a_validation_is_seen_at_once_not_at_the_next_interval() -> None:
    """Validations come a few times a training: a viewer waiting for the loss to reach a target
    (the Training page, benchmarks/gpu.py) looks as soon as one lands, however long the interval."""
    job = Job(key="k", state="training")
    looked = threading.Event()

    def train() -> None:
        for step in range(1, 21):
            _report(job, step)
            time.sleep(0.005)
        job._update(events=[*job.events, Event(21, 100, 1.0, 0.9, 1.0, 0.01, 1.0, 0.0)])
        looked.wait(10)  # the viewer has its look (so that it reads exactly these 21)
        for step in range(22, 41):  # more progress events: they wake no one
            _report(job, step)
            time.sleep(0.005)
        job._update(state="done")

    producer = threading.Thread(target=train)
    looks = job.looks(every=60.0)
    assert next(looks) == []  # at once
    started = time.monotonic()
    producer.start()
    events = next(looks)
    looked.set()
    assert time.monotonic() - started < 5  # the validation woke it, not the 60 s interval
    assert events[-1].val_loss == 0.9 and len(events) == 21
    assert len(next(looks)) == 40 and job.done  # then only the end: no look per progress event
    producer.join()


def test_a_viewer_of_an_ended_training_looks_once() -> None:
    job = Job(key="k", state="training")
    _report(job, 1)
    job._update(state="done")
    assert list(job.looks(every=3600)) == [job.events]  # at once, not in an hour


def test_a_training_stops_once_every_holder_has_been_gone_for_the_grace() -> None:
    live = {"a", "b"}
    job = Job(key="k", state="training", holders={"a", "b"})
    assert not job.stop_if_abandoned(live.__contains__, now=0.0, grace=120)
    live.clear()  # both tabs closed
    assert not job.stop_if_abandoned(live.__contains__, now=10.0, grace=120)
    assert not job.stop_if_abandoned(live.__contains__, now=129.0, grace=120)  # 119 s gone
    assert job.stop_if_abandoned(live.__contains__, now=130.0, grace=120)
    assert job.cancel.is_set() and not job.holders
    assert not job.stop_if_abandoned(live.__contains__, now=500.0, grace=120)  # once
    assert not job.hold("c")  # nobody joins a training that is stopping


def test_a_holder_back_within_the_grace_keeps_the_training() -> None:
    live: set[str] = set()
    job = Job(key="k", state="training", holders={"a"})
    assert not job.stop_if_abandoned(live.__contains__, now=0.0, grace=120)
    live.add("a")  # the tab reconnected
    assert not job.stop_if_abandoned(live.__contains__, now=100.0, grace=120)
    live.clear()  # and closed again: the grace starts over
    assert not job.stop_if_abandoned(live.__contains__, now=200.0, grace=120)
    assert not job.stop_if_abandoned(live.__contains__, now=300.0, grace=120)
    assert job.stop_if_abandoned(live.__contains__, now=320.0, grace=120)


def test_an_ended_training_is_never_stopped() -> None:
    job = Job(key="k", state="done")
    assert not job.stop_if_abandoned(lambda holder: False, now=1e9, grace=0)
    assert not job.cancel.is_set()


def test_a_store_stops_the_training_of_sessions_that_have_gone(story: str) -> None:
    live = {"a"}
    store = RunStore(threading.Semaphore(2), shipped=None, alive=live.__contains__, grace=0.0,
                     watch_every=0.01)
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    assert store.running(job.key) is job and not job.cancel.is_set()
    live.clear()
    finish(job)
    assert job.run is not None and job.run.outcome == "cancelled"
    assert store.running(job.key) is None and store.get(job.key) is None


def test_a_store_keeps_the_training_of_a_session_still_there(story: str) -> None:
    looked = threading.Event()
    calls: list[str] = []

    def alive(holder: str) -> bool:
        calls.append(holder)
        if len(calls) >= 5:
            looked.set()
        return holder == "a"

    store = RunStore(threading.Semaphore(2), shipped=None, alive=alive, grace=0.0, watch_every=0.01)
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    assert looked.wait(timeout=60), "the watcher never looked"
    assert not job.cancel.is_set() and not job.done  # five looks, all finding "a" there
    assert job.release("a")  # only a release ends it
    finish(job)


def test_a_lookup_that_fails_keeps_the_training(story: str) -> None:
    looked = threading.Event()

    def broken(holder: str) -> bool:
        looked.set()
        raise RuntimeError("no runtime")

    store = RunStore(threading.Semaphore(2), shipped=None, alive=broken, grace=0.0, watch_every=0.01)
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    assert looked.wait(timeout=60)
    assert not job.cancel.is_set()
    job.release("a")
    finish(job)


def test_submit_without_start_only_joins_or_finds(store: RunStore, story: str) -> None:
    assert store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a", start=False) is None
    assert not store.jobs  # nothing started
    job = started(store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="a"))
    joined = store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="b", start=False)
    assert joined is job and job.holders == {"a", "b"}
    job.release("a")
    job.release("b")
    finish(job)  # stopped: not found, not started
    assert store.submit(story, "story", TOKENIZER, MODEL, LONG, holder="c", start=False) is None
    done = finish(store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="a"))
    found = store.submit(story, "story", TOKENIZER, MODEL, TINY_TRAIN, holder="c", start=False)
    assert found is not None and found.run is done.run


def test_a_shipped_run_is_one_in_the_shipped_folder(tmp_path) -> None:
    (tmp_path / "abc").mkdir()
    assert RunStore(threading.Semaphore(1), shipped=tmp_path).is_shipped("abc")
    assert not RunStore(threading.Semaphore(1), shipped=tmp_path).is_shipped("abd")
    assert not RunStore(threading.Semaphore(1), shipped=None).is_shipped("abc")  # a visitor's own store

