"""Sampling: how temperature, top-k and top-p turn next-token probabilities into text."""

import streamlit as st

from lmviz.figures.labels import markdown_piece
from lmviz.figures.sampling import figure_next_token, model_heading_html
from lmviz.figures.style import show_whitespace
from lmviz.figures.tokens import unknown_tokens_sentence
from lmviz.next_token import (
    LIKELY,
    mean_log_probability_bits,
    step_rows,
    temperature_example,
    token_bars,
    unknown_picks_note,
)
from lmviz.presets import View
from lmviz.run import Run
from lmviz.sampling import Generation, SamplingConfig
from lmviz.text import signed
from lmviz.ui.charts import chart
from lmviz.ui.generation import (
    COMPARE_TOKENS,
    MAX_TOKENS,
    STEP_COLUMNS,
    add_chosen_tokens,
    add_tokens,
    asked_tokens,
    drew,
    generation_for,
    logits_for,
    next_draw,
    resampled_note,
    reset_tokens,
    sampling_config,
    show_generation,
)
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.lesson_runs import train_with_the_gpt
from lmviz.ui.sidebar import share_box
from lmviz.ui.state import (
    MODEL_LABELS,
    current_view,
    ensure_prompt,
    link_note_outdated,
    recurrent_family,
    release_page_controls,
    require_app,
)

require_app()

SHADING = ("Each picked token is shaded by the probability it had when it was picked (hover for "
           "p and its rank at these settings; on a touch screen, the steps' table gives them): deep blue = p near 1, pale = one of many; "
           "a picked space shows as ·; the prompt is grey.")
DRAW_STRIDE = 10_000  # seeds are < 10,000: seed + stride × draw never meets another seed's draw

st.title(heading("pages/sampling.py"))
st.markdown(
    "The model ends with one score (a *logit*) per token of its vocabulary; softmax turns the "
    "scores into probabilities and **sampling picks one token**, which is appended to the text "
    "before the next step. These three settings change only the picking, never the model."
)
st.latex(r"p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}")
st.caption(
    "Temperature divides the logits before the softmax. Below 1 probability moves to the likeliest "
    "tokens: the tallest bar always grows, and the shorter a bar, the faster it shrinks (sharper; "
    "runners-up can shrink too). Above 1 it flows from the top to the tail (flatter). At 0 only "
    "the tallest is left. "
    "In the chart, grey is the model's own distribution at T = 1 and hatched red marks tokens "
    "top-k or top-p cut away; what is left is rescaled to sum to 1."
)


def settings() -> None:
    cols = st.columns(3)
    cols[0].slider("Temperature", 0.0, 2.0, View().temperature, step=0.05, key="temperature",
                   bind="query-params", persist_state="session",
                   help="Divides the logits before softmax. 0 = greedy: always the most likely token.")
    cols[1].slider("Top-k", 0, 200, View().top_k, key="top_k", bind="query-params",
                   persist_state="session", help="Keep only the k most likely tokens. 0 = off.")
    cols[2].slider("Top-p (nucleus)", 0.05, 1.0, View().top_p, step=0.05, key="top_p",
                   bind="query-params", persist_state="session",
                   help="Then keep the fewest most likely tokens whose probabilities add up to p (counted over what top-k left, rescaled to sum to 1). 1 = off.")


def next_token(run: Run, prompt: str, config: SamplingConfig) -> None:
    """The next-token bars at these settings right under them (a move must show the bars
    change: below the metrics they started at the window's bottom edge), then one token's
    numbers and the entropy."""
    logits, read = logits_for(run, prompt)
    bars = token_bars(logits, run.tokenizer.vocab, config)
    log_y = bool(st.session_state.get("sampling_log"))  # its toggle sits under the chart
    chart(figure_next_token(bars, config.temperature, log_y), key="sampling_bars")
    st.toggle("Log scale", key="sampling_log", help="Shows the small probabilities too.")
    ex = temperature_example(logits, run.tokenizer.vocab, config.temperature, config)
    st.markdown(ex.sentence(len(bars.pieces), run.tokenizer.vocab_size,
                            markdown_piece(ex.piece)))
    metrics = st.columns(3)
    change = bars.entropy_bits - bars.base_entropy_bits
    metrics[0].metric("Entropy at these settings", f"{bars.entropy_bits:.2f} bits",
                      # "vs T = 1" read as a temperature's doing where top-k alone cut the tail
                      delta=f"{signed(change)} bits vs the model's own" if round(change, 2) else None,
                      delta_color="off", delta_arrow="off",  # "↓ -0.99" said it twice
                      help="How unsure the pick is: 0 bits = one certain token.")
    metrics[1].metric("The model's own entropy", f"{bars.base_entropy_bits:.2f} bits",
                      help="Of the model's own distribution: at T = 1, before top-k and top-p.")
    metrics[2].metric("Tokens that can be picked", f"{bars.kept} of {bars.vocab_size}",
                      delta=f"{bars.likely} with p ≥ {LIKELY:g}", delta_color="off", delta_arrow="off",
                      help="Tokens that top-k and top-p leave a chance (p above 0); at a low "
                           "temperature most of them have p near 0.")
    if read.truncated:
        st.info(f"The prompt is longer than the model's context ({run.model_config.context} tokens): "
                "the model reads only its end.")
    if read.unknown:
        st.info(f"{unknown_tokens_sentence(read.unknown)}.")


@st.fragment
def stepper(run: Run | None) -> None:
    """Step by step; clicks rerun only this part, and the text is sampled again from the seed on
    each one. Like the comparison, it says which settings it was sampled with, and the next click
    samples with the settings as they are."""
    view = current_view()
    config = sampling_config(view.temperature, view.top_k, view.top_p, quiet=True)
    if config is None or run is None:
        return  # the settings or the training above already say why
    st.subheader("Step by step: sample it yourself")
    st.caption(f"Each click samples with the settings above and the seed: the same seed gives "
               f"the same tokens, so the text grows by one token per click. {SHADING}")
    buttons = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    buttons[0].button("Next token", key="sampling_next", on_click=add_tokens, args=(1,), type="primary")
    n = buttons[1].number_input("N (tokens at once)", 1, MAX_TOKENS, 20, key="sampling_n")
    buttons[2].button(f"Generate {n}", key="sampling_generate", on_click=add_chosen_tokens)
    buttons[3].button("Reset", key="sampling_reset", on_click=reset_tokens)
    count = asked_tokens()
    if count == 0:
        st.info("Press **Next token** to sample the first token after your prompt.")
        return
    result = generation_for(run, view.prompt, config, count, view.seed)
    if result is None:
        return
    if (note := resampled_note((config, view.seed))) is not None:
        st.info(note, icon=":material/refresh:")
    show_generation(result)
    st.caption(f"Sampled by the {MODEL_LABELS[view.model]} at {config.describe()}, seed {view.seed}"
               + (f"; the stepper stops at {MAX_TOKENS} tokens: press Reset to start again."
                  if count >= MAX_TOKENS else "."))
    last = result.steps[-1]
    among = (f"rank {last.rank:,} of {run.tokenizer.vocab_size:,}" if last.candidates == run.tokenizer.vocab_size
             else "the only token these settings leave a chance" if last.candidates == 1
             else f"rank {last.rank:,} of the {last.candidates:,} tokens these settings leave a chance")
    st.markdown(f"Step {len(result.steps)} picked “{markdown_piece(last.token)}” with "
                f"probability {last.probability:.3f} ({among}).")
    st.dataframe(step_rows(result.steps, show_whitespace), hide_index=True, width="stretch",
                 column_config=STEP_COLUMNS, height=min(400, 38 + 35 * count), key="sampling_steps")


@st.fragment
def comparison(runs: dict[str, Run | None]) -> None:
    """The same prompt through a recurrent model and the GPT, side by side. Its own fragment:
    generating is an action (the button), so moving the settings stays fast; the text says which
    settings it was sampled with, and the button samples again with the settings as they are."""
    if drew():
        st.rerun()  # the whole page: the link under the chart (another fragment) shows the draw
    view = current_view()
    config = sampling_config(view.temperature, view.top_k, view.top_p, quiet=True)
    if config is None or not any(runs.values()):
        return  # the settings above or the training at the top already say why
    st.subheader("Same prompt, two models: a recurrent model and a GPT")
    draw = view.draw
    drawn = f", draw {draw} (draw={draw} in the link)" if draw else ""
    st.caption(f"Each model continues the prompt by {COMPARE_TOKENS} tokens, here at "
               f"{config.describe()}, seed {view.seed}{drawn}; it keeps them while the settings "
               f"above move, until the button below samples again. {SHADING} Average surprise (−log₂ p of the "
               "picks, averaged) sums up the draw: lower is a surer draw at these settings. To compare the "
               "models themselves, read their validation bits per character on the Training page.")
    st.button("Generate again with the settings above", key="sampling_compare_generate",
              icon=":material/refresh:", on_click=next_draw,
              help="A new draw each press; the seed and the draw number (in the link) make it "
                   "reproducible.")
    results: dict[str, Generation] = {}
    for column, family in zip(st.columns(2), (recurrent_family(view), "gpt"), strict=True):
        with column:
            model_run = runs.get(family)  # trained at the top (a failure was said there)
            seed = view.seed + DRAW_STRIDE * draw  # draw 0 is the seed's own
            result = generation_for(model_run, view.prompt, config, COMPARE_TOKENS, seed) if model_run else None
            if model_run is None or result is None:
                continue
            heading = model_heading_html(MODEL_LABELS[family], model_run.parameters,
                                         mean_log_probability_bits(result.steps))
            show_generation(result, heading)  # one element per model: each one costs a redraw
            results[MODEL_LABELS[family]] = result
    trained = next(r for r in runs.values() if r is not None)
    picks = [step for result in results.values() for step in result.steps]
    if picks and all(step.candidates == 1 for step in picks):  # the button seemed to do nothing
        # name what left the one token: top-k 1, top-p, else the temperature (0, or so low that
        # every other token's p rounds to 0)
        cuts = [name for name, on in (("top-k", config.top_k == 1), ("top-p", config.top_p < 1)) if on]
        raise_it = "the temperature" if config.temperature == 0 or not cuts else " or ".join(cuts)
        st.caption("At these settings only one token has a chance at each step, so every draw "
                   f"writes the same text: raise {raise_it} to see draws differ.")
    if (note := unknown_picks_note(sum(s.id == trained.tokenizer.unk_id for s in picks), len(picks),
                                   trained, config.temperature)) is not None:
        st.info(note, icon=":material/help:")
    if results and st.toggle("Show each step's token, probability and rank", key="sampling_compare_tables"):
        for n, (column, (label, result)) in enumerate(zip(st.columns(2), results.items(), strict=False)):
            column.markdown(f"**{label}**")
            column.dataframe(step_rows(result.steps, show_whitespace), hide_index=True, width="stretch",
                             column_config=STEP_COLUMNS, key=f"sampling_compare_{n}")


@st.fragment
def sampling_view(run: Run | None) -> None:
    """The settings and the distribution they shape. A fragment: moving one reruns this part
    only, not the sidebar, the comparison or the stepper, so a move redraws fast. The sidebar's
    link would go stale here, so this page shows the link itself (share_box), at its end."""
    if run is not None:
        st.subheader(f"The next token after your prompt — {MODEL_LABELS[current_view().model]}")
    settings()
    release_page_controls()  # this fragment reruns alone: its controls let go here too (app.py)
    view = current_view()
    if link_note_outdated(view):
        st.rerun()  # the whole page, once: the link's note on the setting just moved goes
    config = sampling_config(view.temperature, view.top_k, view.top_p)
    prompt = ensure_prompt(view)
    if run is not None and config is not None and prompt is not None:
        next_token(run, prompt, config)
    share_box(view)


# trained at the top, and the runs handed to the fragments: a Cancel in a fragment waits for the
# page's run, and a fragment that looked a run up could start a training there
runs = train_with_the_gpt(view := current_view())
sampling_view(runs[view.model])
comparison(runs)
stepper(runs[view.model])
next_step("pages/sampling.py")
