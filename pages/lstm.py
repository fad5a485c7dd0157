"""Recurrent gates: every gate over the prompt, one timestep in detail with its equations and
this input's numbers, and units that track bracket depth."""

from dataclasses import replace

import streamlit as st

from lmviz.figures.labels import current_token_html, short_labels
from lmviz.figures.lstm import (
    INTRO,
    NOTES,
    TITLES,
    equations_latex,
    figure_correlations,
    figure_gate_heatmap,
    figure_unit_line,
    gate_title,
    unit_line_caption,
)
from lmviz.lstm_math import most_varying_unit, recurrent_step
from lmviz.models import GATE_NAMES
from lmviz.presets import CORPUS_PROMPTS
from lmviz.probes import MEASURES, TextTrace, correlated_units
from lmviz.run import Run
from lmviz.text import markdown_text
from lmviz.ui.charts import chart
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.lesson_runs import run_for
from lmviz.ui.state import (
    MODEL_LABELS,
    apply_view,
    current_view,
    ensure_prompt,
    keep_choice,
    recurrent_family,
    require_app,
)
from lmviz.ui.traces import trace_for

require_app()

PLAY_SECONDS = 1.0
CHIPS_AROUND = 24  # tokens shown each side of the current one: a long prompt is a screen of chips
STEP, SLIDER, PLAYING = "lstm_t", "lstm_step", "lstm_playing"  # STEP: the step on screen
ADVANCE = "lstm_advance"  # while playing: the next run shows the next step
UNIT, LAYER, MEASURE, PROBE_UNIT = "lstm_unit", "lstm_layer", "lstm_measure", "lstm_probe_unit"


def _use_brackets() -> None:
    apply_view(replace(current_view(), corpus="brackets", prompt=CORPUS_PROMPTS["brackets"]))


def _move(delta: int, last: int) -> None:
    st.session_state[STEP] = min(max(st.session_state.get(STEP, 0) + delta, 0), last)
    st.session_state[ADVANCE] = False


def _slider_moved() -> None:
    st.session_state[STEP] = st.session_state[SLIDER]


def _toggle_play(last: int) -> None:
    playing = not st.session_state.get(PLAYING, False)
    if playing and st.session_state.get(STEP, 0) >= last:
        st.session_state[STEP] = 0  # play again from the start
    st.session_state[PLAYING] = playing
    st.session_state[ADVANCE] = False


def _set_unit(unit: int) -> None:
    st.session_state[UNIT] = unit
    st.toast(f"Unit {unit} is now the unit in the equations above.", icon=":material/arrow_upward:")


TITLE_WORDS = {"lstm": "LSTM gates", "gru": "GRU gates", "rnn": "RNN state"}  # a vanilla RNN has no gates


def stepper(run: Run, text_trace: TextTrace, layer: int, family: str) -> None:
    """Everything that follows the current timestep (a fragment: it reruns alone while playing)."""
    values = text_trace.trace.layers[layer]
    tokens = text_trace.tokens
    labels = short_labels(tokens)
    last = len(tokens) - 1
    playing = bool(st.session_state.get(PLAYING))
    t = int(st.session_state.get(STEP, 0)) + (1 if playing and st.session_state.get(ADVANCE) else 0)
    t = min(max(t, 0), last)
    st.session_state[STEP] = st.session_state[SLIDER] = t
    # a flex row, not columns: on a phone, columns stacked the two arrows a full-width row each
    row = st.container(horizontal=True, vertical_alignment="bottom")
    row.button("◀", key="lstm_prev", on_click=_move, args=(-1, last), disabled=t == 0,
               width=48, help="Previous token")
    row.button("▶", key="lstm_next", on_click=_move, args=(1, last), disabled=t == last,
               width=48, help="Next token")
    if playing:  # no slider while playing: the browser would send it back stale
        row.progress(t / max(last, 1),
                     text=f"Playing: step {t} (steps 0–{last}), token {markdown_text(labels[t])}")
    elif last > 0:
        row.select_slider("Timestep", range(last + 1), key=SLIDER, format_func=labels.__getitem__,
                          on_change=_slider_moved)
    st.markdown(current_token_html(text_trace.encoding, text_trace.text, t, around=CHIPS_AROUND),
                unsafe_allow_html=True)

    names = GATE_NAMES[family]
    for first in range(0, len(names), 2):  # a row per pair: at phone width they stack in gate order
        for column, name in zip(st.columns(2), names[first:first + 2], strict=False):
            with column:
                chart(figure_gate_heatmap(values[name], labels, name, current=t, height=280,
                                          title=gate_title(family, name)), key=f"lstm_heat_{name}")
                st.caption(NOTES[family][name])

    units = values["hidden_state"].shape[1]
    memory = "cell_state" if "cell_state" in values else "hidden_state"
    keep_choice(UNIT, range(units), most_varying_unit(values[memory]), made_for=(run.key, layer))
    st.subheader("One step, one unit, with its numbers")
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    unit = controls.number_input("Unit", 0, units - 1, key=UNIT, width=160,  # it took 700 px for 3 digits
                                 help="Which unit's equations to show (the default changes most along the prompt).")
    # the step's arrows again, by the equations they change: on a phone the ones above are
    # six heatmaps away
    controls.button("◀", key="lstm_prev_eq", on_click=_move, args=(-1, last), disabled=t == 0,
                    width=48, help="Previous token")
    controls.button("▶", key="lstm_next_eq", on_click=_move, args=(1, last), disabled=t == last,
                    width=48, help="Next token")
    step = recurrent_step(run.model, text_trace.trace, layer, unit, t)
    rnn = family == "rnn"  # no gates: no σ, no ⊙
    gru = " (for the GRU's candidate n, that bias times r)" if family == "gru" else ""
    first = ("" if t or last == 0 else " At step 0 there is no past yet: the previous states are 0, "
             f"so nothing is kept or carried over. Inside {'the' if rnn else 'each σ or'} tanh the first "
             "number is the input's part (W x + b, from this token) and the second the memory's part "
             f"(W h + b), here only its bias{gru}. Press ▶ to see the previous step's state at work.")
    symbols = "" if rnn else " (σ is the sigmoid, ⊙ multiplies unit by unit)"
    st.markdown(f"Step **{t}** reads token **{markdown_text(labels[t])}**: unit {unit} of layer {layer}, computed "
                f"from the model's own weights{symbols}.{first}")
    st.latex(equations_latex(step))
    chart(figure_unit_line(values[memory][:, unit], labels, f"{TITLES[memory]}, unit {unit}",
                           current=t), key="lstm_unit_line")
    st.caption(unit_line_caption(values, unit, tokens))

    if playing:
        st.session_state[ADVANCE] = t < last
        if t >= last:
            st.session_state[PLAYING] = False
            st.rerun()  # a full run turns the timer off


def probes(text_trace: TextTrace, layer: int, corpus: str) -> None:
    """Units whose memory tracks bracket depth or position in a word (brackets corpus)."""
    st.subheader("Which units count brackets?")
    if corpus != "brackets":
        st.info("On the **brackets** corpus some units learn to count how deeply brackets are "
                "nested. Switch to it to look for them.")
        st.button("Switch to the brackets corpus and its example", key="lstm_to_brackets",
                  on_click=_use_brackets, icon=":material/data_array:")
        return
    values = text_trace.trace.layers[layer]
    memory = "cell_state" if "cell_state" in values else "hidden_state"
    measure_name = st.radio("Measure", list(MEASURES), key=MEASURE, horizontal=True)
    measure = MEASURES[measure_name](text_trace.text, text_trace.encoding.offsets)
    top = correlated_units(values[memory], measure, top=8)
    if not top:
        st.info(f"The {measure_name} does not change along this prompt (or it is under 3 tokens): "
                "try a prompt with nested brackets and words.")
        st.button("Use the brackets example prompt", key="lstm_bracket_prompt", on_click=_use_brackets)
        return
    left, right = st.columns([2, 3])
    with left:
        chart(figure_correlations(top, measure_name), key="lstm_corr")
        st.caption(f"Pearson r between each unit's {TITLES[memory].lower()} and the {measure_name}, "
                   "over this prompt: near ±1 means the unit follows it.")
        keep_choice(PROBE_UNIT, [u for u, _ in top], top[0][0],
                    made_for=(text_trace.text, layer, measure_name))
        chosen = st.selectbox("Unit to plot", [u for u, _ in top], key=PROBE_UNIT,
                              format_func=lambda u: f"unit {u} (r = {dict(top)[u]:+.2f})")
        st.button(f"Show unit {chosen} in the equations above", key="lstm_probe_to_unit",
                  on_click=_set_unit, args=(chosen,))
    with right:
        labels = short_labels(text_trace.tokens)
        chart(figure_unit_line(values[memory][:, chosen], labels, f"{TITLES[memory]}, unit {chosen}",
                               measure=measure, measure_name=measure_name), key="lstm_probe_line")
        st.caption(f"Solid: the unit; dashed: the {measure_name}. Over one short prompt a high r "
                   "can be chance: try other bracketed prompts and see if the same unit stays on top.")


view = current_view()
family = recurrent_family(view)
# the page's own title names the model it shows ("LSTM gates" stood over a GRU's); the
# navigation keeps the lesson step's name
st.title(heading("pages/lstm.py").replace("LSTM gates", TITLE_WORDS[family]))
st.markdown(INTRO[family])
if view.model != family:
    st.caption(f"The sidebar's model is the {MODEL_LABELS[view.model]}; this page shows an LSTM "
               "trained on the same corpus.")

run = run_for(view, family)
prompt = ensure_prompt(view)
text_trace = trace_for(run, prompt) if run is not None and prompt is not None else None
if text_trace is None:
    st.stop()

layer_count = len(text_trace.trace.layers)
layer = 0
if layer_count > 1:
    keep_choice(LAYER, range(layer_count), 0, made_for=run.key)
    layer = st.selectbox("Layer", range(layer_count), key=LAYER,
                         format_func=lambda i: f"layer {i}" + (" (reads the embeddings)" if i == 0 else
                                                               f" (reads layer {i - 1})"))

every = "state" if family == "rnn" else "gate"  # a vanilla RNN has no gates, only its state
st.subheader(f"Every {every}, every token — {MODEL_LABELS[family]}, layer {layer}")
last = len(text_trace.tokens) - 1
playing = bool(st.session_state.get(PLAYING))
st.button("Pause" if playing else "Play", key="lstm_play", on_click=_toggle_play, args=(last,),
          icon=":material/pause:" if playing else ":material/play_arrow:", disabled=last == 0,  # one token
          help="Step through the prompt, one token per second; stops at the end.")
st.fragment(stepper, run_every=PLAY_SECONDS if playing else None)(run, text_trace, layer, family)
probes(text_trace, layer, view.corpus)
next_step("pages/lstm.py")
