"""Attention: every head of the GPT at once, one head in detail, one query step by step with this
input's numbers, and a search for a copy (induction) head."""

import numpy as np
import streamlit as st

from lmviz.attention_math import (
    clearest_copy,
    induction_scores,
    previous_token_scores,
    query_step,
)
from lmviz.figures.attention import (
    figure_attention,
    figure_head_grid,
    figure_induction,
    figure_query_steps,
    figure_weighted_sum,
    query_latex,
    query_rows,
    stripes_sentence,
    weighted_sum_caption,
)
from lmviz.figures.labels import current_token_html, short_labels
from lmviz.presets import COPY_LESSON, CORPUS_PROMPTS, is_copy_lesson
from lmviz.probes import TextTrace
from lmviz.run_compare import heads_note, steepest_drop
from lmviz.text import counted, markdown_text
from lmviz.tokenizers import UNK
from lmviz.ui.charts import chart
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.lesson_runs import run_for
from lmviz.ui.state import (
    MODEL_LABELS,
    current_view,
    ensure_prompt,
    keep_choice,
    require_app,
    set_prompt,
    use_copy_lesson,
)
from lmviz.ui.traces import trace_for

require_app()

BIG_SCORE = 5.0  # a scaled score this far from 0 is no longer "near ±1": the head made it large

LAYER, HEAD, QUERY, KEY = "attn_layer", "attn_head", "attn_query", "attn_key"


def _show_head(layer: int, head: int) -> None:
    st.session_state[LAYER] = layer
    st.session_state[HEAD] = head
    st.toast(f"Layer {layer}, head {head} is now the head in **One head** above.", icon=":material/arrow_upward:")


st.title(heading("pages/attention.py"))
st.markdown(
    "In a transformer each token builds a **query** (what am I looking for?), a **key** (what do I "
    "contain?) and a **value** (what do I pass on?). A head compares one token's query with the key "
    "of **itself and every token before it**, turns the scores into weights that add to 1, and "
    "passes on the weighted sum of their values. The causal mask hides later tokens: no peeking at "
    "the answer.")
view = current_view()
if view.model != "gpt":
    st.caption(f"The sidebar's model is the {MODEL_LABELS[view.model]}, which has no attention; "
               "this page shows the GPT trained on the same corpus.")

run = run_for(view, "gpt")
prompt = ensure_prompt(view)
text_trace = trace_for(run, prompt) if run is not None and prompt is not None else None
if text_trace is None:
    st.stop()
trace = text_trace.trace
layers, heads, length, _ = trace.attention.shape
labels = short_labels(text_trace.tokens)
head_size = trace.queries.shape[-1]
st.caption(f"{counted(layers, 'layer')} × {counted(heads, 'head')}, head size d = {head_size}, "
           f"{counted(length, 'token')} "
           f"(context: {run.model_config.context}).{heads_note(view)}")

scores = induction_scores(trace, run.tokenizer.unk_id)  # two unknown words are no repeat
lesson = is_copy_lesson(view)
# a choice of this model's, not the last one's; the copy lesson opens on its copy head
opening = scores.best if lesson and scores.queries else (0, 0)
# ... and its query slider on the repeat where that head copies most clearly
opening_query = clearest_copy(trace, *opening, run.tokenizer.unk_id) if lesson else None
st.subheader("All heads at once")
# picked for this model, and kept for its next prompt, unless that one opens on another head: the
# lesson's prompt without a repeat had opened on (0, 0), and the example after it had stayed there
keep_choice(LAYER, range(layers), opening[0], made_for=(run.key, opening))
keep_choice(HEAD, range(heads), opening[1], made_for=(run.key, opening))
chart(figure_head_grid(trace.attention, selected=(st.session_state[LAYER], st.session_state[HEAD])),
      key="attn_grid")
st.caption("One square per head, rows are layers: a bright diagonal looks at the token itself, a "
           "bright first column at the first token, a stripe just left of the diagonal at the "
           "previous token. Grey cells are the future, masked out.")

st.subheader("One head")
left, right = st.columns(2)
layer = left.selectbox("Layer", range(layers), key=LAYER, format_func=lambda i: f"layer {i}")
head = right.selectbox("Head", range(heads), key=HEAD, format_func=lambda i: f"head {i}")


@st.fragment
def one_query(text_trace: TextTrace, layer: int, head: int, run_key: str, opening: int | None) -> None:
    """The query slider and all it changes: a fragment, so moving it redraws only this part. It
    opens on `opening`, else on the last token."""
    trace = text_trace.trace
    labels = short_labels(text_trace.tokens)
    length, head_size = len(labels), trace.queries.shape[-1]
    keep_choice(QUERY, range(length), length - 1 if opening is None else opening,
                made_for=(run_key, text_trace.text))
    if length > 1:
        query = st.select_slider("Query token", range(length), key=QUERY, format_func=labels.__getitem__,
                                 help="The token whose attention is taken apart below.")
    else:
        query = 0
    st.markdown(current_token_html(text_trace.encoding, text_trace.text, query), unsafe_allow_html=True)
    chart(figure_attention(trace.attention[layer, head], labels,
                           f"Layer {layer}, head {head}: who looks at whom", query=query),
          key="attn_head_map")
    st.caption("Each row is a query token, each column a key it may look at; each row's weights add up "
               "to 1. The outlined row is the query taken apart below.")

    st.subheader(f"Query {markdown_text(labels[query])}, step by step")
    step = query_step(trace, layer, head, query)
    chart(figure_query_steps(step, labels), key="attn_steps")
    # what the sentence says: a large score, and nearly all the weight on one key
    big = float(np.abs(step.scaled).max()) > BIG_SCORE and float(step.weights.max()) > 0.9
    st.caption(f"A raw score q·k adds up d = {head_size} products, one per dimension, so it grows "
               f"with the head size; dividing by √{head_size} stops that (for random q and k it keeps "
               "them near ±1), and the softmax turns them into positive "
               "weights that add up to 1 — the highest score wins most"
               + (". A trained head can still make its scores large on purpose, as this one does here: "
                  "then nearly all the weight goes to one key." if big else "."))
    # the key followed starts at this query's top key whenever the query or the head changes
    keep_choice(KEY, range(query + 1), step.top_keys(1)[0],
                made_for=(run_key, text_trace.text, layer, head, query))
    key = st.selectbox("Follow one key through the formulas", range(query + 1), key=KEY,
                       format_func=lambda j: f"{labels[j]} (weight {step.weights[j]:.3f})")
    st.latex(query_latex(step, key))
    st.caption("The largest score is taken from every score before e^…: it cancels above and below "
               "the line, so the weights are the softmax's own, and no e^… can overflow.")
    left, right = st.columns([3, 2])
    with left:
        chart(figure_weighted_sum(step, labels), key="attn_sum")
        st.caption(weighted_sum_caption(step))
    with right:
        st.space()  # on a phone the columns stack: the table's toolbar covered the caption above
        st.dataframe(query_rows(step, labels), hide_index=True, height=320, key="attn_table",
                     column_config={c: st.column_config.NumberColumn(format="%.4f")
                                    for c in ("q·k", "q·k / √d", "weight", "‖v‖")})
        st.caption(f"Sum of the weights: {step.weight_sum:.6f}. Output norm ‖o‖ = {step.output_norm:.4f}.")


one_query(text_trace, layer, head, run.key, opening_query)

st.subheader("Looking for a copy head (induction)")
st.markdown(
    "When a text repeats itself, a model can predict the repeat by looking back at the earlier "
    "occurrence of the current token and copying **the token that came after it**. A head that does "
    "this is called an *induction head*. Below, for each head: how much attention, on average, each "
    "repeated token pays to the token(s) after its earlier occurrence(s).")
example = CORPUS_PROMPTS["copy"]
if not lesson:
    st.info(f"The **copy** corpus repeats a span of 2 to 5 random words on every line, a different "
            f"length each time: the place to look for this pattern. A GPT learns to copy only after "
            f"a long plateau, so the copy lesson trains it {COPY_LESSON['steps']:,} steps at "
            f"learning rate {COPY_LESSON['lr']:g} (the run ships with the app: no waiting).")
    st.button("Load the copy lesson: a GPT trained to copy, and a prompt with repeated spans",
              key="attn_to_copy", on_click=use_copy_lesson, icon=":material/content_copy:")
elif view.prompt != example:
    st.button("Use the example prompt: two lines that each repeat a span of a different length",
              key="attn_copy_prompt", on_click=set_prompt, args=(CORPUS_PROMPTS["copy"],))
encoding = text_trace.encoding  # the texts that became <unk>: the same one twice is a repeat to a reader
unknown_texts = [text_trace.text[slice(*encoding.offsets[n])].strip() for n in encoding.unknown]
if scores.queries == 0 and len(set(unknown_texts)) < len(unknown_texts):
    st.info(f"What repeats in this prompt is outside the vocabulary: every such token is {UNK}, "
            f"and {UNK} never counts as a repeat (two different texts share it). Repeat words made "
            "of this corpus's characters to find something to copy.")
elif scores.queries == 0:
    st.info("No token repeats in this prompt, so there is nothing to copy: repeat a few words.")
else:
    chart(figure_induction(scores), key="attn_induction")
    best_layer, best_head = scores.best
    drop = steepest_drop(run.history) if lesson else None
    copy_head_shown = lesson and (layer, head) == scores.best  # what the sentences below point at
    on_screen = " The query above opened where this head copies most clearly." if copy_head_shown else ""
    if drop is not None:
        learned = (f"This GPT's validation loss fell most between steps {drop.step_before} and "
                   f"{drop.step_after}, from {drop.loss_before:.2f} to {drop.loss_after:.2f} nats: "
                   "the copy head forming after a long plateau (the whole curve is on the Training "
                   f"page).{on_screen} It is not "
                   "perfect: at the last letter of a word, for one, it looks at the earlier copy of "
                   "that letter rather than at the token after it"
                   + (" (the example's last token shows it)." if prompt == example else "."))
    else:
        learned = ("A model trained with other settings may not have learned to copy: the numbers "
                   "show what it did learn; the copy lesson above shows one that has.")
    # the stripes' distances are the example's own, in this tokenizer's tokens
    # the lesson's head on screen shows them; another model's may not, so "would" there
    stripes = stripes_sentence(trace.ids, run.tokenizer.unk_id, shown=copy_head_shown) if prompt == example else ""
    st.caption(
        f"Measured over {counted(scores.queries, 'repeated token')}. A head far above the uniform "
        f"value ({scores.chance:.2f}) leans toward the token after the earlier occurrence. "
        f"{stripes}{learned}")
    previous, uniform = previous_token_scores(trace)
    prev_head = int(np.argmax(previous[0]))
    if best_layer > 0 and previous[0, prev_head] > 2 * uniform:
        st.caption(
            f"A layer-0 head cannot do this alone; it takes two steps. In layer 0, head {prev_head} "
            f"pays each token's predecessor {previous[0, prev_head]:.2f} of its attention on average "
            f"(uniform: {uniform:.2f}), so each position also carries the token before it; a "
            "layer-1 head can then look for the position whose previous token is the current one.")
    # three decimals: two heads can both read 0.30 in the chart
    best = f"layer {best_layer}, head {best_head} (highest score, {scores.scores[best_layer, best_head]:.3f})"
    if (layer, head) == (best_layer, best_head):
        st.caption(f"The head above is this one's best: {best}.")
    else:
        st.button(f"Show {best} above", key="attn_best", on_click=_show_head, args=(best_layer, best_head))
next_step("pages/attention.py")
