"""Training: watch a model learn live, compare runs, and see what a too-large learning rate does."""

from collections.abc import Callable

import streamlit as st

from lmviz.cost import duration_words
from lmviz.device import available_devices
from lmviz.figures.training import figure_blowup
from lmviz.presets import DEFAULT_LAYERS, DEFAULT_STEPS, LEARNING_RATES, View, family_options
from lmviz.run import PRECISIONS
from lmviz.run_compare import (
    Blowup,
    bits_help,
    blowup,
    evaluation_samples,
    history_caption,
    learned_stage,
    plan_summary,
    run_notes,
    samples_block,
    samples_heading,
    target_loss,
    val_loss_help,
)
from lmviz.text import counted
from lmviz.training import SAMPLE_TEMPERATURE
from lmviz.ui.lesson import heading
from lmviz.ui.lesson_runs import (
    AUTO_TRAIN_WORDS,
    fewer_steps_button,
    run_source,
    trained_in,
    training_seconds,
)
from lmviz.ui.state import contexts, corpus_text, current_view, has_cuda, require_app, view_key
from lmviz.ui.tokens import too_short_note
from lmviz.ui.train_view import live_training, render_history
from lmviz.ui.training_session import (
    SAFE_LR,
    StartedTraining,
    cancel_training,
    remember,
    session_runs,
    shown_training,
    start_training,
    started_training,
)

require_app()

BOUND = {"bind": "query-params", "persist_state": "session"}
RUN_ORDER = ("model", "hidden", "layers", "heads", "context", "steps", "lr", "clip", "dropout",
             "precision", "outcome", "val loss", "bits/char", "seconds", "device", "parameters",
             "sample", "corpus", "tokenizer", "vocab", "seed")
RUN_COLUMNS = {
    "lr": st.column_config.NumberColumn(format="%g"),
    "sample": st.column_config.TextColumn(width="large"),
}

st.title(heading("pages/training.py"))
st.markdown(
    "Training shows the model windows of the corpus, measures how surprised it is by each next "
    "token (the **loss**), and nudges every weight against its gradient. The settings in the "
    "sidebar — Corpus, Tokenizer, Model family, Hidden size and Seed — are shared with every page; "
    "the training settings are here. All of them but Device (this machine's) are kept in the link."
)


def family_default(default: int) -> Callable[[int], str]:
    """A slider label where 0 (what the link keeps for "the family's default") reads as it."""
    return lambda value: f"default ({default})" if value == 0 else str(value)


family = current_view().model
layer_options, step_options = family_options("layers", family), family_options("steps", family)
if has_cuda():
    st.info("This machine has a GPU, so bigger models are offered: hidden size up to 1024 in the "
            "sidebar, and a context of 256 tokens here. A GPT of width 384 with 6 layers, 8 heads "
            "and context 256 (10.8 million weights) trained its 600 steps in 13 seconds on an "
            "H100 (8 in bf16); a CPU would take over an hour. Give a model this big a smaller "
            "learning rate: at the default 0.01 that GPT stalled at a validation loss of 2.33, "
            "at 0.003 it reached 1.34, below the default GPT's 1.38.",
            icon=":material/memory:")
left, middle, right = st.columns(3)
with left:
    st.select_slider("Layers", layer_options, value=View().layers, key="layers",
                     format_func=family_default(DEFAULT_LAYERS[family]),
                     help="Blocks stacked on top of each other; default: the family's own.", **BOUND)
    st.slider("Heads", 1, 8, View().heads, key="heads", disabled=family != "gpt",
              help="Attention heads per layer (GPT only).", **BOUND)
    st.select_slider("Context", contexts(), value=View().context, key="context",
                     help="Tokens the model reads at once: the windows it trains on, and the GPT's "
                          "positions. Longer sees further back and trains slower.", **BOUND)
with middle:
    st.select_slider("Steps", step_options, value=View().steps, key="steps",
                     format_func=family_default(DEFAULT_STEPS[family]),
                     help="Optimizer updates; default: the family's own.", **BOUND)
    st.select_slider("Learning rate", LEARNING_RATES, value=View().lr, key="lr",
                     format_func=lambda value: f"{value:g}",
                     help="How far each update moves the weights. Try 3 or 10: it blows up.",
                     **BOUND)
with right:
    st.slider("Dropout", 0.0, 0.5, View().dropout, step=0.05, key="dropout",
              help="Zeroes this fraction of activations while training.", **BOUND)
    st.slider("Gradient clipping", 0.0, 10.0, View().clip, step=0.5, key="clip",
              help="Caps the gradient's norm before each update; 0 = off.", **BOUND)
view = current_view()
took = duration_words(training_seconds(view, device=st.session_state.get("device") or "auto"))
st.caption(f"{plan_summary(view)} Estimated: {took} here (lesson pages ask before a training "
           f"over {AUTO_TRAIN_WORDS}).")
device_col, precision_col, train_col, cancel_col = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
device = device_col.selectbox("Device", available_devices(), key="device", persist_state="session",
                              help="Where the training runs; the first is the fastest found.")
precision_col.selectbox("Precision", PRECISIONS, key="precision", **BOUND,
                        help="bf16: the forward pass's matrix products in bfloat16 (an LSTM's, GRU's "
                             "or RNN's cell stays fp32; weights, gradients and the optimizer stay "
                             "fp32). Can be faster on a GPU with bf16 units; at these "
                             "sizes often not, and on a CPU usually slower.")
no_text = corpus_text(view) is None  # the upload corpus, before a usable text is in
# an upload the sidebar already calls too short for this Context: Train would only fail
too_short = too_short_note(view)
if train_col.button("Train", key="train", type="primary", icon=":material/play_arrow:",
                    disabled=no_text or too_short is not None):
    start_training(view, device)
current = shown_training(view)
earlier = started_training()  # its run goes in the table however the settings moved since
if earlier is not None and earlier.asked and earlier.job.done and earlier.job.run is not None:
    remember(earlier.job.run, view.prompt)
cancel_col.button("Cancel", key="train_cancel", on_click=cancel_training, icon=":material/stop:",
                  disabled=current is None or current.job.done or current.left)


def diverged_lesson(found: Blowup) -> None:
    """An exploding-gradient lesson, with this run's numbers, and what to try."""
    st.error(found.lesson(), icon=":material/local_fire_department:")
    st.warning(f"**What to try:** move Learning rate down ({SAFE_LR:g} is the default), then press "
               "Train again. Gradient clipping will not save it: AdamW scales every update to about "
               "the learning rate's size whatever the gradient's norm, so the learning rate is the "
               "step size.", icon=":material/lightbulb:")


def show_result(current: StartedTraining) -> None:
    job, run = current.job, current.job.run
    if job.state == "failed":
        st.error(f"Training failed: {job.error}")
        return
    if run is None:
        st.warning("The training stopped before its first step.")
        return
    row = remember(run, view.prompt, keep=current.asked)
    if not current.asked:
        st.info(f"**Already trained:** a run with exactly the settings above exists ({run_source(view, run)}), "
                "so here it is without pressing Train. Change a setting and press **Train** to "
                "train a new one.", icon=":material/bolt:")
    elif current.already:
        st.success(f"Already trained: a run with exactly these settings exists ({run_source(view, run)}), so "
                   "it is shown instantly — identical settings train once.", icon=":material/bolt:")
    cols = st.columns(5)
    # a diverged run's weights are broken: the validation losses charted below were measured
    # before it blew up, and are not this model's ("—" beside a plotted point, unexplained)
    cols[0].metric("Validation loss", f"{run.val_loss:.3f}" if row["val loss"] is not None else "—",
                   help=val_loss_help(run))
    cols[1].metric("Bits per character", f"{run.bits_per_char:.2f}" if row["bits/char"] is not None else "—",
                   help=bits_help(run))
    trained_in(cols[2], run, view, device)
    cols[3].metric("Device", run.device)
    cols[4].metric("Parameters", f"{run.parameters:,}", help="Weights and biases the model learns.")
    for note in run_notes(run):
        st.warning(note, icon=":material/help:")
    vocab = f" (vocabulary {row['vocab']})" if row["vocab"] != "—" else ""
    st.caption(f"{row['model'].upper()}, hidden {row['hidden']}, {counted(row['layers'], 'layer')}, context "
               f"{row['context']}, {row['steps']} steps, lr {row['lr']:g}, clip {row['clip']:g}, "
               f"dropout {row['dropout']:g}, {row['precision']}, seed {row['seed']}, corpus "
               f"{row['corpus']}, {row['tokenizer']} tokens{vocab}.")
    found = blowup(run)
    if found:
        diverged_lesson(found)
    elif run.outcome == "cancelled":
        where = f"at step {run.final.step}" if run.final else "before its first report"
        st.warning(f"Cancelled {where}: the curves end there, and this half-trained run is not "
                   "kept for other pages.")
    # a diverged run's loss chart is the blow-up: on a log axis, the climb and the fall before
    # it both show, against a uniform guess (the target line would say nothing there)
    render_history(run.history, target_loss(run), key="train_history",
                   loss_chart=figure_blowup(run.history, found.uniform_loss) if found else None)
    st.caption(history_caption(run, found))
    fewer_steps_button(view, run, [view.model])
    taken = evaluation_samples(job.events)
    if taken:
        st.markdown(samples_heading(run.sample_start, run.corpus, run.usable, learned_stage(run),
                                    run.tokenizer_config.kind))
        st.code(samples_block(taken), language=None, wrap_lines=True)
    elif row["sample"] != "—":
        st.markdown(f"**A sample from this run** (temperature {SAMPLE_TEMPERATURE:g}, after your prompt):")
        st.code(row["sample"], language=None, wrap_lines=True)


if no_text:
    st.info("There is no text to train on yet: upload or paste your own in the sidebar (a UTF-8 "
            "text file, at least a paragraph), or choose a built-in corpus there.",
            icon=":material/upload_file:")
elif too_short is not None and current is None:
    st.warning(too_short, icon=":material/short_text:")
elif current is None and started_training() is not None:
    st.info("The settings have changed since your last training: press **Train** to train these."
            + (" Your earlier runs are in the table below." if session_runs() else ""), icon=":material/tune:")
elif current is None:
    st.info("These settings are not trained yet: press **Train** to watch the model learn. Try 3 "
            "or 10 for the learning rate to watch a training blow up.")
elif current.left:
    st.info("**Stopped watching.** Another visitor is training exactly these settings (or this "
            "page did before a reload, in a tab that may still come back), so the training "
            "goes on for them: one visitor's Cancel never stops another's. Press **Train** to "
            "watch it again; once it has finished, it shows at once.",
            icon=":material/group:")
else:
    if not current.job.done:
        if current.job.key != view_key(view):  # the plan line above is already the new settings'
            then = (f" {too_short}" if too_short is not None else
                    " Press **Train** to train the new settings.")
            st.info("The settings above have changed since you pressed **Train**: this is still the "
                    "training of the earlier ones, and it goes in the table below when it ends." + then,
                    icon=":material/tune:")
        live_training(current.job, current.label, compact=False)
        st.rerun()  # drawn again as finished: Cancel above was drawn while it ran, enabled
    show_result(current)

rows = session_runs()
if rows:
    st.subheader("Runs you trained this session")
    st.caption("Compare: which setting lowered the validation loss, and what did it cost?")
    st.dataframe(rows, hide_index=True, width="stretch", column_config=RUN_COLUMNS,
                 column_order=RUN_ORDER, placeholder="—", key="train_runs")
