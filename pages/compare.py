"""Side by side: the LSTM and the GPT read the same text. Where each one's picture of the past
comes from (the LSTM's memory split by the step that wrote it, the GPT's attention), how far back
each reaches, and what each predicts next."""

import numpy as np
import streamlit as st

from lmviz.attention_math import induction_scores
from lmviz.figures.attention import figure_attention
from lmviz.figures.compare import figure_distance_back, figure_rows
from lmviz.figures.labels import current_token_html, markdown_piece, short_labels
from lmviz.figures.style import show_whitespace
from lmviz.memory import (
    MEMORY_NAME,
    SPLITTABLE,
    STATE_WORDS,
    MemorySources,
    distance_back,
    head_weights,
    largest_lead,
    recent_share,
    repeated_positions,
    shared_color_top,
)
from lmviz.next_token import token_bars
from lmviz.presets import is_copy_lesson
from lmviz.probes import TextTrace
from lmviz.run import Run
from lmviz.run_compare import training_budget
from lmviz.sampling import SamplingConfig
from lmviz.text import agreeing, counted, markdown_text
from lmviz.ui.charts import chart
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.lesson_runs import run_for
from lmviz.ui.state import (
    MODEL_LABELS,
    current_view,
    ensure_prompt,
    keep_choice,
    require_app,
    use_copy_lesson,
)
from lmviz.ui.traces import memory_for, trace_for

require_app()

LAYER, GPT_LAYER, HEAD, TOKEN = "cmp_layer", "cmp_gpt_layer", "cmp_head", "cmp_token"
RECENT = 3  # "the last few tokens": the token itself and the two before it
ALL_HEADS = -1

st.title(heading("pages/compare.py"))
view = current_view()
family = view.model if view.model in SPLITTABLE else "lstm"
st.markdown(
    "To guess the next token both models need the past, and they keep it in different ways. The "
    "**GPT looks back**: each token's attention spreads a weight of 1 over the tokens so far. The "
    f"**{MODEL_LABELS[family]} cannot look back**: all it knows of the past is {STATE_WORDS[family]} "
    "Because that state is a sum, it splits exactly into what each earlier step wrote, faded by "
    "every step since, so for every token both models get a row of shares over the tokens so "
    "far, computed from the same text.")
# the fine print, folded: on a phone the whole paragraph was 19 lines before the first chart
with st.expander("What exactly do the two rows measure?"):
    st.markdown(
        f"Different things. The {MODEL_LABELS[family]}'s row: where the content of its memory was "
        "written (a unit that counts gives old steps a share), each write computed from the state "
        "before it, which already holds the past. The GPT's row: where its attention reads, from "
        "positions that the layers below may already have mixed. So each row says where the past "
        "came from in one step, not how far a fact has travelled.")
if view.model not in SPLITTABLE:
    st.caption(f"The sidebar's model is the {MODEL_LABELS[view.model]}; this page sets an LSTM "
               f"beside the GPT{', since an RNN rewrites its whole memory at every step' if view.model == 'rnn' else ''}, "
               "both trained on the same corpus.")
names = (MODEL_LABELS[family], "GPT")

said: set[str] = set()  # one note for both models where they fail alike or memorise
recurrent = run_for(view, family, said=said, beside=["gpt"])
gpt = run_for(view, "gpt", said=said, beside=[family]) if recurrent is not None else None  # not while one is missing
prompt = ensure_prompt(view)
if recurrent is None or gpt is None or prompt is None:
    st.stop()
# the GPT's context may cut the prompt (and says so): the recurrent model reads what the GPT read
right_trace = trace_for(gpt, prompt, cut=f"only its end is shown, and the {names[0]} reads only that end "
                                        "too, so that both rows cover the same tokens")
left_trace = trace_for(recurrent, right_trace.text, notes=False) if right_trace is not None else None
if left_trace is None or right_trace is None:
    st.stop()
if left_trace.tokens != right_trace.tokens:  # a BPE merge across the GPT's cut: rare
    st.error("The two models split this prompt into different tokens, so their rows cannot be set "
             "side by side.")
    st.stop()
labels = short_labels(left_trace.tokens)
layer_count = len(left_trace.trace.layers)
gpt_layers, gpt_heads = right_trace.trace.attention.shape[:2]

controls = st.columns(3)
keep_choice(LAYER, range(layer_count), layer_count - 1, made_for=recurrent.key)
layer = controls[0].selectbox(f"{names[0]} layer", range(layer_count), key=LAYER,
                              format_func=lambda i: f"layer {i}", disabled=layer_count == 1,
                              help=f"This {names[0]} has {counted(layer_count, 'layer')}.")
best_layer, best_head = gpt_layers - 1, ALL_HEADS
lesson = is_copy_lesson(view)
if lesson:  # open on the copy head, the one this lesson is about
    scores = induction_scores(right_trace.trace, gpt.tokenizer.unk_id)
    if scores.queries:
        best_layer, best_head = scores.best
keep_choice(GPT_LAYER, range(gpt_layers), best_layer, made_for=gpt.key)
gpt_layer = controls[1].selectbox("GPT layer", range(gpt_layers), key=GPT_LAYER,
                                  format_func=lambda i: f"layer {i}", disabled=gpt_layers == 1,
                                  help=f"This GPT has {counted(gpt_layers, 'layer')}.")
keep_choice(HEAD, [ALL_HEADS, *range(gpt_heads)], best_head, made_for=gpt.key)
head = controls[2].selectbox("GPT head", [ALL_HEADS, *range(gpt_heads)], key=HEAD,
                             format_func=lambda h: "all heads (their mean)" if h == ALL_HEADS else f"head {h}",
                             help="The mean of a layer's heads still adds up to 1 in every row.")
sources = memory_for(recurrent, left_trace, layer)
attention = head_weights(right_trace.trace, gpt_layer, None if head == ALL_HEADS else head)
heads_named = "mean of its heads" if head == ALL_HEADS else f"head {head}"
memory_word = MEMORY_NAME[family].replace("_", " ")
# each model's row measures at every token, once a run: the token's part, the chart and the copy
# lesson's caption read them
back = {names[0]: distance_back(sources.shares), names[1]: distance_back(attention)}
recent = {names[0]: recent_share(sources.shares, RECENT), names[1]: recent_share(attention, RECENT)}


def predictions(run: Run, text_trace: TextTrace, token: int, name: str) -> None:
    """The model's five likeliest next tokens after `token`, and the prompt's own next token."""
    bars = token_bars(text_trace.trace.logits[token], run.tokenizer.vocab, SamplingConfig(), top_n=5)
    st.markdown(f"**{name}**")
    st.dataframe([{"next token": show_whitespace(piece), "p": float(p)}
                  for piece, p in zip(bars.pieces, bars.base_probs, strict=True)],
                 hide_index=True, width="stretch", key=f"cmp_next_{name}",
                 column_config={"p": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)})


@st.fragment
def one_token(sources: MemorySources, attention: np.ndarray) -> None:
    """The token slider and all it changes (a fragment: moving it reruns only this part)."""
    last = len(labels) - 1
    # the copy lesson opens where the GPT's copying shows most (at the last token both models
    # just predict a space); any other view on the last token
    showcase = largest_lead(left_trace.trace, right_trace.trace) if lesson else None
    keep_choice(TOKEN, range(last + 1), last if showcase is None else showcase,
                made_for=(recurrent.key, gpt.key, left_trace.text))
    token = st.select_slider("Token", range(last + 1), key=TOKEN, format_func=labels.__getitem__,
                             help="The token whose row is compared below.") if last else 0
    st.markdown(current_token_html(left_trace.encoding, left_trace.text, token), unsafe_allow_html=True)
    top = shared_color_top(sources.shares, attention)
    left, right = st.columns(2)
    chart(figure_attention(sources.shares, labels, f"{names[0]}: who wrote the {memory_word}",
                           token, axes=("written at step", f"{memory_word} at step"),
                           value="share", hover="memory at %{y} ← written at %{x}", zmax=top),
          key="cmp_memory_map", where=left)
    left.caption(f"Row t: of the absolute amounts in the {memory_word}'s units after token t, the "
                 f"share each earlier step wrote. The split is exact: the pieces add up to the model's own {memory_word} "
                 f"(largest difference {sources.max_error:.1e}). Both maps share one color scale, up to "
                 + (f"{top:.2f} (the largest share from the fourth token on: the first rows, with a token "
                    "or two to share among, saturate)." if len(labels) > 3 else "1."))
    chart(figure_attention(attention, labels, f"GPT: layer {gpt_layer}, {heads_named}", token,
                           zmax=top), key="cmp_attention_map", where=right)
    right.caption("Row t: how token t's attention spreads over the tokens so far (each row adds up "
                  "to 1); grey cells are the future, masked out.")

    st.subheader(f"Token {markdown_text(labels[token])}: where each one's past comes from")
    rows = {names[0]: sources.shares[token], names[1]: attention[token]}
    chart(figure_rows(rows, labels, token), key="cmp_rows")
    metrics = st.columns(4)
    for index, name in enumerate(names):
        metrics[2 * index].metric(f"{name}: tokens back", f"{back[name][token]:.1f}",
                                  help="On average, how many tokens before this one its row's share sits.")
        metrics[2 * index + 1].metric(f"{name}: on the last {RECENT} tokens", f"{recent[name][token]:.0%}",
                                      help="The share on this token and the two before it.")
    st.caption(f"Bars: the two rows of the maps above, token by token. What the {names[0]} wrote "
               "can only fade once written (each keep gate is between 0 and 1), so an old step "
               "keeps a share only where the keep gates stayed near 1; attention can take any "
               "earlier token whole, however far back.")
    st.subheader("What each predicts next")
    following = left_trace.tokens[token + 1] if token < last else None
    columns = st.columns(2)
    for column, run, text_trace, name in zip(columns, (recurrent, gpt), (left_trace, right_trace), names,
                                             strict=True):
        with column:
            predictions(run, text_trace, token, name)
    if following is not None:
        target = left_trace.trace.ids[token + 1]
        said = [f"the {name} {trace.trace.probabilities()[token, target]:.3f}"
                for name, trace in zip(names, (left_trace, right_trace), strict=True)]
        st.caption(f"The prompt goes on with {markdown_piece(following)}: "
                   f"{' and '.join(said)} gave it that probability.")


one_token(sources, attention)

st.subheader("How far back, at every token")
repeats = repeated_positions(right_trace.trace.ids, gpt.tokenizer.unk_id)
if lesson and repeats:
    opened = (f"the GPT opened on its copy head (layer {best_layer}, head {best_head}: the highest "
              "induction score, as on the Attention page); here, " if best_head != ALL_HEADS else "")
    st.caption(f"The copy lesson: each line repeats a span, and {opened}on the {counted(len(repeats), 'token')} "
               f"that {agreeing(len(repeats), 'repeats', 'repeat')} an earlier one, the GPT's row sits "
               f"{back[names[1]][repeats].mean():.1f} tokens back on average and the "
               f"{names[0]}'s {back[names[0]][repeats].mean():.1f}. Trained for it: "
               f"the GPT {training_budget(gpt)}; the {names[0]} {training_budget(recurrent)}.")
elif not lesson:
    st.button("Compare them on the copy lesson: text that repeats, and a GPT that learned to copy",
              key="cmp_to_copy", on_click=use_copy_lesson, icon=":material/content_copy:")
# no mark on the Token slider's token: the slider reruns only its fragment above, so a mark here
# stayed on the token it was drawn for
chart(figure_distance_back(back, labels), key="cmp_distance")
means = " and ".join(f"the {name} {values.mean():.1f}" for name, values in back.items())
st.caption(f"For each token, how many tokens back its row sits on average; over this prompt, "
           f"{means}. A row can only reach as far back as the token's position, so every line "
           f"starts at 0. Change the layer or head above, or the prompt in the sidebar, and compare.")
next_step("pages/compare.py")
