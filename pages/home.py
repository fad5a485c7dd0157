"""Home: what the app teaches, the lesson path, the current model and corpus."""

import streamlit as st

from lmviz.corpora import list_corpora
from lmviz.figures.training import figure_loss
from lmviz.run_compare import (
    bits_help,
    learning_story,
    run_notes,
    val_loss_help,
)
from lmviz.ui.charts import chart
from lmviz.ui.lesson import LESSON, step_link
from lmviz.ui.lesson_runs import fewer_steps_button, run_for, trained_in
from lmviz.ui.state import MODEL_LABELS, current_view, require_app

require_app()

st.title("Watch small language models think")
st.markdown(
    "A language model turns text into **tokens**, tokens into **vectors**, mixes them through "
    "**recurrent gates** or **attention**, and ends with a **probability for every possible next "
    "token**. Every number on these pages is computed, live, by small real models: each corpus's "
    "default ones ship with the app, trained, and a setting you change trains a new one on this "
    "server — the default LSTM in about ten seconds, a GPT in under a minute on a small CPU "
    "(settings someone trained before show at once; a bigger model asks first, and says how long "
    "it will take)."
)

view = current_view()
descriptions = {c.name: c.description for c in list_corpora()}
left, right = st.columns(2)  # room for the three metrics on a laptop
with left:
    st.subheader("The lesson path")
    for step in LESSON:
        step_link(step)
    st.caption("The sidebar's model, corpus and prompt are shared by every page and by the link "
               "(on a phone, the sidebar opens from the top-left corner).")

with right:
    st.subheader("The model on screen")
    # the corpus first: the upload's "add a text" (or a training's progress) is about it
    st.markdown(f"**Corpus:** `{view.corpus}` — {descriptions.get(view.corpus, 'your own text')}")
    run = run_for(view, overfit=False)  # memorising: said under the loss chart
    if run is not None:
        summary = run.summary()
        bits = summary["bits_per_char"]
        st.markdown(
            f"**Model:** {MODEL_LABELS[view.model]}, hidden size {view.hidden_size}, "
            f"{summary['parameters']:,} parameters, {view.tokenizer} tokens "
            f"({run.tokenizer.vocab_size} in the vocabulary)."
        )
        cols = st.columns(3)
        cols[0].metric("Validation loss", f"{summary['val_loss']:.3f}" if summary["val_loss"] else "—",
                       help=val_loss_help(run))
        cols[1].metric("Bits per char",  # "Bits per charac…" in a third of half a laptop
                        f"{bits:.2f}" if bits else "—", help=bits_help(run))
        trained_in(cols[2], run, view)
        for note in run_notes(run):
            st.warning(note, icon=":material/help:")
        chart(figure_loss(run.history, title="How this model learned"))
        st.caption("The loss is how surprised the model is by the next token. "
                   + learning_story(run.history, run.unigram_entropy) + " The Training page trains new ones live.")
        fewer_steps_button(view, run, [view.model])
