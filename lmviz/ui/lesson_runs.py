"""The trained models a lesson page shows: found, joined or trained for its view, with progress
and a Cancel. A page starts by itself only a training that should be short (AUTO_TRAIN_SECONDS,
estimated by lmviz.cost): a link or a slider can ask for hours of CPU, and a longer one waits
for the visitor's click, which says how long it will take. After a Cancel the page waits for a
click too: else the rerun the click causes would start the training again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import streamlit as st

from lmviz.cost import duration_words, estimated_seconds
from lmviz.device import pick_device
from lmviz.jobs import Job
from lmviz.presets import UPLOAD, View, configs
from lmviz.run import Run
from lmviz.run_compare import Overfit, memorised, training_changes, view_changes
from lmviz.tokenizers import MAX_CHARS
from lmviz.ui.state import (
    MODEL_LABELS,
    apply_view,
    corpus_text,
    current_view,
    finished_run,
    hidden_sizes,
    recurrent_family,
    session_holder,
    store_for,
    submit,
    view_key,
)
from lmviz.ui.tokens import too_short_note
from lmviz.ui.train_view import live_training

# The longest training a lesson page starts without a click: the default GPT (about 50 s on a
# 2-core CPU) and an LSTM of 256 units start by themselves; an LSTM of 512 (about 2 minutes)
# asks first. On a GPU every size at the default steps does.
AUTO_TRAIN_SECONDS = 90.0
AUTO_TRAIN_WORDS = "a minute and a half"
CANCELLED_KEY = "lmviz_cancelled"  # run keys whose training a lesson page's Cancel stopped
ASKED_KEY = "lmviz_asked"  # run keys this session asked to train, however long they take
FOLLOWED_KEY = "lmviz_followed"  # family -> the training a lesson page last showed for it
TRAINING_PAGE_JOB_KEY = "training_job"  # the Training page's StartedTraining (training_session)
LITTLE_TEXT = 20_000  # characters: "little to learn from" (story, 151,394, is not)
OVERFIT_SAID = "overfit"  # in run_for's `said`: the note on memorising is on the page
CHARS_KEY = "lmviz_chars"  # (the text, its number of different characters): 36 ms for 2 MB


def characters(text: str) -> int:
    """How many different characters `text` has, counted once per text a session shows (kept
    in the session: never beyond it)."""
    counted = st.session_state.get(CHARS_KEY)
    if counted is None or counted[0] is not text:
        counted = st.session_state[CHARS_KEY] = (text, len(set(text)))
    return counted[1]


def training_seconds(view: View, family: str | None = None, device: str = "auto") -> float:
    """The estimated time to train the view's `family` on `device` (lmviz.cost), with the
    vocabulary the text will have: a char vocabulary is its characters and <unk>, and a BPE
    one at least that many (it starts from them)."""
    tokenizer, model, train = configs(view, family, device)
    vocab = tokenizer.vocab_size
    if tokenizer.kind != "word":
        alphabet = min(max(2, characters(corpus_text(view) or "") + 1), MAX_CHARS)  # 2: no text yet
        vocab = alphabet if tokenizer.kind == "char" else max(vocab, alphabet)
    return estimated_seconds(replace(model, vocab_size=vocab), train, vocab, pick_device(device).type)


def trained_in(container, run: Run, view: View, device: str = "auto") -> None:
    """The run's training time as a metric in `container`; for a run shipped with the app, its
    help says it is the machine's that built it (under its load then: one took 82 s that trains here in
    about 10), with this machine's estimate beside it."""
    if not store_for(view).is_shipped(run.key):
        container.metric("Trained in", f"{run.seconds:.1f} s", help=f"on {run.device}, on this server")
        return
    here = duration_words(training_seconds(view, run.model_config.family, device))
    container.metric("Trained in", f"{run.seconds:.1f} s",  # "Trained in (shipped)" was cut on Home
                     help=f"Shipped with the app, not trained here: timed on the {run.device} of the "
                          f"machine that built it, under its load then. Here it would take {here}.")
    # in sight, not only in the help: 82.2 s beside "an LSTM in about ten seconds" read as a slip
    container.caption(f"shipped with the app; here: {here}")


def run_source(view: View, run: Run) -> str:
    """Where a finished run came from, in words: a visitor's upload never leaves their session
    (it read "shipped with the app or trained by an earlier visitor")."""
    if store_for(view).is_shipped(run.key):
        return "it ships with the app"
    if view.corpus == UPLOAD:
        return "trained on your text earlier in this session, here or for another page"
    return "trained earlier, for another page or by another visitor"


def waits_for_a_click(view: View, family: str | None = None, device: str = "auto") -> str | None:
    """Why this page does not train the view's `family` now: "cancelled" (this session's Cancel
    stopped it), "long" (over AUTO_TRAIN_SECONDS, not asked for), "join" (long, not asked for,
    but running for someone: follow it, start nothing); None when it may (finished, asked for or
    short), or when there is no text."""
    if corpus_text(view) is None:
        return None
    cancelled = st.session_state.get(CANCELLED_KEY, set())
    long = training_seconds(view, family, device) > AUTO_TRAIN_SECONDS
    if not cancelled and not long:
        return None  # as a rule: no hashing of the corpus on every page run
    key = view_key(view, family)
    if key is None or finished_run(view, key) is not None:
        return None
    if key in cancelled:
        return "cancelled"
    if key in st.session_state.get(ASKED_KEY, set()) or not long:
        return None
    return "join" if store_for(view).running(key) is not None else "long"


def run_for(view: View, family: str | None = None, device: str = "auto",
            quiet: bool = False, said: set[str] | None = None, beside: Sequence[str] = (),
            overfit: bool = True) -> Run | None:
    """The finished run for a view, training it first (with progress) if no one has yet; None
    when training failed or diverged, or waits for a click, which is said on the page unless
    `quiet` (a part of the page below one that already said it). A failure's message in `said`
    is not said again (two models of one text fail alike), and goes there once said; so does the
    note on a model that memorised its text (one note and one button serve both models: the
    steps are every model's; the second gets a line), which `overfit` False leaves to the page.
    `beside`: the other families the page trains (a smaller size offered must suit them too)."""
    label = MODEL_LABELS[family or view.model]
    if (short := too_short_note(view)) is not None:  # a training that can only fail
        follow(family or view.model, None)  # the one shown before (a longer Context's) is left too
        if not quiet and short not in (said or ()):
            st.warning(short, icon=":material/short_text:")
        if said is not None:
            said.add(short)
        return None
    why = waits_for_a_click(view, family, device)
    # a running training is only joined: stopped since (its last holder let go), it is not
    # started again without a click
    job = submit(view, family, device, start=False) if why == "join" else None
    if why is not None and job is None:
        follow(family or view.model, None)  # waits for a click: the one shown before is left too
        if not quiet:
            click_note(view, family, "long" if why == "join" else why, device, beside)
        return None
    job = job or submit(view, family, device)
    if job is None:
        return None
    follow(family or view.model, job)
    if not job.done:
        # a rerun (any click) stops watching, not the training; Cancel lets go of it
        cancel = st.empty()
        cancel.button(f"Cancel training the {label}", key=f"lesson-cancel-{job.key}",
                      icon=":material/stop_circle:", on_click=cancel_lesson_training, args=(job,))
        live_training(job, f"Training the {label} for this view", compact=True)
        cancel.empty()
    if job.state == "failed":
        message = f"Training failed: {job.error}"
        if not quiet and message not in (said or ()):
            st.error(message)
        if said is not None:
            said.add(message)
        return None
    run = job.run
    if run is None or run.outcome == "cancelled":  # half-trained: never shown as the model
        if not quiet:
            st.warning(f"The training of the {label} stopped before it finished; the next click "
                       "on this page trains it again.")
        return None
    if not run.usable:
        if not quiet:
            settings = ", ".join(training_changes(view) or ["the defaults"])
            st.error(f"Training the {label} diverged (the loss exploded "
                     f"to NaN or far above a random guess) with the Training page's settings: "
                     f"{settings}. Press **Reset the training settings** in the sidebar, or lower "
                     "the learning rate on the Training page.")
        return None
    if quiet or not overfit or (found := memorised(run)) is None:
        return run
    if OVERFIT_SAID in (said or ()):  # the note and its button are on the page: this one too
        st.caption(f"The {label} learned its training text by heart too: its validation loss was "
                   f"lowest at step {found.best_step:,} ({found.best_loss:.2f} nats) and rose to "
                   f"{found.last_loss:.2f} by step {found.last_step:,}.")
        return run
    overfit_note(view, run, found, label, [family or view.model, *beside])
    if said is not None:
        said.add(OVERFIT_SAID)
    return run


def follow(family: str, job: Job | None) -> None:
    """The training a lesson page now shows for `family` (None: none, it waits for a click); the
    one it showed before, if still running or queued for settings since left (a slider moved
    on), is let go: it stops unless someone else wants it, asked for it with a click, or is the
    Training page's. Else every move of a slider left a training behind, and a visitor's
    abandoned trainings filled the server's slots while everyone, the visitor too, waited in
    line. Only an unfinished training is kept here (a finished one's run stays in the store)."""
    followed: dict[str, Job] = st.session_state.setdefault(FOLLOWED_KEY, {})
    previous = followed.pop(family, None)
    if job is not None and not job.done:
        followed[family] = job
    if previous is None or previous is job or previous.done:
        return
    started = st.session_state.get(TRAINING_PAGE_JOB_KEY)
    if previous.key in st.session_state.get(ASKED_KEY, set()) or (started is not None and started.job is previous):
        return
    previous.release(session_holder())


def fewer_steps(found: Overfit) -> int:
    """The steps to train instead of a run that memorised: as many as it had taken when its
    validation loss was lowest, in the Steps slider's tens."""
    return max(10, found.best_step // 10 * 10)


def fewer_steps_button(view: View, run: Run, families: Sequence[str]) -> None:
    """For a run that memorised its text (`memorised`), the button that sets the Training page's
    Steps to `fewer_steps` (every page's models train with them), with how long the page's
    `families` will take then, one after another; none where that is no fewer than the run's
    (at 10 steps, "Train 10 steps instead" did nothing)."""
    found = memorised(run)
    if found is None or (steps := fewer_steps(found)) >= run.train_config.steps:
        return
    fewer = replace(view, steps=steps)
    took = duration_words(sum(training_seconds(fewer, family) for family in dict.fromkeys(families)))
    st.button(f"Train {steps:,} steps instead ({took})", key=f"fewer-steps-{families[0]}",
              on_click=use_steps, args=(steps,), icon=":material/content_cut:")


def use_steps(steps: int) -> None:
    """The fewer-steps button's callback: the view as it is at the click, with those Steps, and
    word of what changed (the page only redrew, the sidebar said the rest)."""
    apply_view(replace(current_view(), steps=steps))
    st.toast(f"Steps set to {steps:,} on the Training page: every page's models train {steps:,} "
             "steps now, each with a learning-rate schedule of its own, so not quite the model "
             "at that step. **Reset the training settings** in the sidebar brings the default back.",
             icon=":material/content_cut:")


def overfit_note(view: View, run: Run, found: Overfit, label: str, families: Sequence[str]) -> None:
    """Under a model that memorised its text (lmviz.run_compare.memorised), what that means for
    the page and a button that trains the page's `families` for fewer steps."""
    length = len(corpus_text(view) or "")
    little = f": {length:,} characters is little to learn from" if length < LITTLE_TEXT else ""
    st.info(f"**This {label} learned its training text by heart.** On text it never trained on, "
            f"its loss was lowest at step {found.best_step:,} ({found.best_loss:.2f} nats) and rose "
            f"to {found.last_loss:.2f} by step {found.last_step:,}, while its loss on the training "
            f"text kept falling (overfitting{little}). What this page shows is this model's real "
            "behaviour, but it knows its training text better than the language. Fewer steps, or "
            "more text, give a model that carries over.", icon=":material/school:")
    fewer_steps_button(view, run, families)


def families_with_the_gpt(view: View) -> list[str]:
    """Every family the lesson pages train for a view: the sidebar's, the recurrent one set
    beside the GPT, and the GPT; each once."""
    return list(dict.fromkeys((view.model, recurrent_family(view), "gpt")))


def train_with_the_gpt(view: View) -> dict[str, Run | None]:
    """For a page whose parts need the sidebar's model and a recurrent model beside a GPT (the
    Sampling page): train or find them at the page's top level, not in a fragment (a click
    there waits for the page's run, so a Cancel drawn there would act only once the training had
    ended). Each family's run, None where it failed or diverged (said here); none while the
    sidebar's model waits for a click, nor without a text or a prompt."""
    families = families_with_the_gpt(view)
    runs: dict[str, Run | None] = dict.fromkeys(families)
    if not view.prompt.strip():
        return runs
    said: set[str] = set()
    runs[view.model] = run_for(view, said=said, beside=families)
    if runs[view.model] is None and (corpus_text(view) is None or waits_for_a_click(view)):
        return runs  # nothing to train on, or waiting: the others too
    for family in families:
        if family != view.model:
            runs[family] = run_for(view, family, said=said, beside=families)
    return runs


def cancel_lesson_training(job: Job) -> None:
    """A lesson page's Cancel callback: this session lets go of the training (it stops unless
    another session still wants it) and the page trains these settings again only when asked."""
    job.release(session_holder())
    mark_cancelled(job.key)


def mark_cancelled(key: str) -> None:
    """This session cancelled the training of `key`: lesson pages wait for a click before they
    train it again (a rerun would start it at once). It outweighs an earlier ask (`ask_to_train`)."""
    st.session_state.setdefault(CANCELLED_KEY, set()).add(key)


def ask_to_train(key: str) -> None:
    st.session_state.get(CANCELLED_KEY, set()).discard(key)
    st.session_state.setdefault(ASKED_KEY, set()).add(key)


def click_note(view: View, family: str | None, why: str, device: str = "auto",
               beside: Sequence[str] = ()) -> None:
    """What a lesson page shows in place of a model it waits to be asked to train: why, how to
    make it smaller, and the button that trains it."""
    label = MODEL_LABELS[family or view.model]
    key = view_key(view, family)
    settings = ", ".join(view_changes(view) or ["the defaults"])
    smaller = [f"a Hidden size below {view.hidden_size}"] if view.hidden_size > View().hidden_size else []
    if training_changes(view):
        smaller.append("**Reset the training settings** (the Training page's back to their defaults)")
    where = f" in the sidebar: {' or '.join(smaller)}" if smaller else ""
    took = duration_words(training_seconds(view, family, device))
    where_to = "CPU" if pick_device(device).type == "cpu" else "GPU"
    if why == "cancelled":
        st.info(f"**You cancelled training the {label}** for this view ({settings}). This page "
                f"needs a trained model: train it after all, or choose smaller settings{where}.",
                icon=":material/stop_circle:")
        button = f"Train the {label} after all"
    else:
        st.info(f"**Training the {label} for this view ({settings}) takes {took}** on this "
                f"machine's {where_to}, so this page waits for you: it starts by itself only "
                f"trainings of {AUTO_TRAIN_WORDS} or less. Train it (you can cancel), or choose "
                f"smaller settings{where}.", icon=":material/hourglass_top:")
        button = f"Train the {label.split(' (')[0]} ({took})"  # the GPT's, not "GPT (transformer)"
    row = st.container(horizontal=True)
    row.button(button, key=f"lesson-train-{key}", on_click=ask_to_train, args=(key,),
               icon=":material/play_arrow:")
    quicker = quicker_size(view, [family or view.model, *beside], device)
    if quicker is not None:  # one press, not a hunt for the sidebar (behind » on a phone)
        size, words = quicker
        row.button(f"Use hidden size {size} ({words})", key=f"lesson-smaller-{key}",
                   on_click=use_hidden_size, args=(size,), icon=":material/compress:")


def use_hidden_size(size: int) -> None:
    """The smaller size's button: the view as it is at the click (a fragment's sliders may have
    moved since the page drew the button), with that Hidden size."""
    apply_view(replace(current_view(), hidden_size=size))


def quicker_size(view: View, families: Sequence[str], device: str = "auto") -> tuple[int, str] | None:
    """The largest Hidden size below the view's at which the page would train each of its
    `families` by itself, and how soon they all show: the sum, as the page trains them one after
    another ("ready now" where each is trained already, and usable); None if there is none."""
    families = list(dict.fromkeys(families))
    for size in sorted((n for n in hidden_sizes() if n < view.hidden_size), reverse=True):
        smaller = replace(view, hidden_size=size)
        seconds = [training_seconds(smaller, family, device) for family in families]
        if max(seconds) > AUTO_TRAIN_SECONDS:
            continue
        keys = [view_key(smaller, family) for family in families]
        found = [finished_run(smaller, key) if key is not None else None for key in keys]
        ready = all(run is not None and run.usable for run in found)
        return size, "ready now" if ready else duration_words(sum(seconds))
    return None
