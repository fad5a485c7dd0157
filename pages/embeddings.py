"""Embeddings: the trained vocabulary in PCA space, nearest neighbours, the prompt's cosine
similarities and, for the GPT, its positional embeddings."""

import streamlit as st

from lmviz.embeddings import (
    cosine_matrix,
    kind_agreement,
    nearest_neighbours,
    pca,
    position_similarity,
)
from lmviz.figures.embeddings import (
    agreement_text,
    figure_cosine_heatmap,
    figure_embedding_scatter,
    figure_neighbours,
    figure_positional,
    neighbour_rows,
    pick_token,
    scatter_caption,
)
from lmviz.figures.labels import markdown_piece
from lmviz.figures.style import show_whitespace, token_labels
from lmviz.probes import embedding_weights
from lmviz.text import plain
from lmviz.ui.charts import chart
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.lesson_runs import run_for
from lmviz.ui.state import (
    MODEL_LABELS,
    current_view,
    ensure_prompt,
    require_app,
)
from lmviz.ui.traces import trace_for

require_app()

NEIGHBOURS = 10
MAX_HEATMAP_TOKENS = 60

st.title(heading("pages/embeddings.py"))
st.markdown(
    "Every token id picks one row of a learned table: its **embedding**, a short list of numbers. "
    "Nobody tells the model what these numbers mean; training nudges tokens that are used in "
    "similar places towards similar vectors, so the table ends up holding what the model learned "
    "about each token."
)

view = current_view()
controls = st.columns(2)
if view.model == "gpt":
    family = "gpt"
else:
    family = controls[0].radio(
        "Show the embeddings of", [view.model, "gpt"], format_func=MODEL_LABELS.get,
        key="emb_family", horizontal=True,
        help="The sidebar's model, or the GPT trained on the same corpus and tokens.")
dims = controls[1].radio("Projection", [2, 3], format_func=lambda d: f"{d}D", key="emb_dims",
                         horizontal=True, help="Principal components to keep (PCA).")

run = run_for(view, family)
if run is None:
    st.stop()
vocab = run.tokenizer.vocab
tokens, positions = embedding_weights(run)
if family == "gpt":
    st.caption(f"The GPT adds each token's embedding ({tokens.shape[1]} numbers) to its "
               "position's embedding, and the sum enters the first block. Its output layer reuses "
               "the same table to score the next token.")
else:
    st.info(f"For the {MODEL_LABELS[family]}, the embedding is the input to the cell: "
            f"x_t in its equations is row id_t of this table ({tokens.shape[1]} numbers), with "
            "nothing in between.", icon=":material/memory:")

st.subheader(f"The whole vocabulary in {dims}D")  # "2-D" broke as "2-" / "D" on a phone
scatter = st.container()  # drawn once the token below is chosen: it rings it and its neighbours

st.subheader("Nearest neighbours")
token_id = st.selectbox("Token", range(len(vocab)), index=pick_token(vocab),
                        format_func=lambda i: f"{show_whitespace(vocab[i])}  (id {i})",
                        key="emb_token", help="Any token of the vocabulary.")
neighbours = nearest_neighbours(tokens, token_id, NEIGHBOURS)
coords, ratio = pca(tokens, dims)
chart(figure_embedding_scatter(coords, vocab, ratio, chosen=token_id,
                               neighbours=[i for i, _ in neighbours]), key="emb_scatter", where=scatter)
scatter.caption(scatter_caption(tokens.shape[1], ratio, vocab[token_id], len(neighbours), vocab))
left, right = st.columns([3, 2])
chart(figure_neighbours(neighbours, vocab, token_id), key="emb_neighbours", where=left)
right.dataframe(neighbour_rows(neighbours, vocab), hide_index=True, width="stretch",
                column_config={"cosine": st.column_config.NumberColumn(format="%.3f")})  # not "0.23"
agreement = kind_agreement(vocab, token_id, neighbours)
st.caption("Cosine similarity compares directions: 1 is the same direction, 0 unrelated, −1 "
           "opposite. The closest tokens are the ones the model treats alike. "
           + agreement_text(agreement, markdown_piece(vocab[token_id])))

st.subheader("How alike are the prompt's tokens?")
prompt = ensure_prompt(view)
trace = trace_for(run, prompt) if prompt is not None else None
if trace is not None:
    # a prompt the GPT cut to its context keeps its end: the heatmap too ("only its end is shown")
    part = slice(-MAX_HEATMAP_TOKENS, None) if trace.truncated else slice(MAX_HEATMAP_TOKENS)
    ids = trace.trace.ids[part]
    sims = cosine_matrix(trace.trace.embeddings[ids])
    labels = token_labels(trace.tokens[part], start=len(trace.tokens) - len(ids) if trace.truncated else 0)
    chart(figure_cosine_heatmap(sims, labels), key="emb_prompt_cosine")
    count = len(trace.trace.ids)
    shown = ("all tokens" if count <= len(ids) else
             f"the last {MAX_HEATMAP_TOKENS} of the {count} tokens the model reads" if trace.truncated else
             f"the first {MAX_HEATMAP_TOKENS} of {count} tokens")
    st.caption(f"Token embeddings only, {shown}, no position added. A repeated token is a "
               "dark red 1 off the diagonal; blue cells are tokens the model keeps apart.")

if family == "gpt" and positions is not None:
    st.subheader("Positional embeddings (GPT)")
    st.markdown("Without positions, one attention layer weighs an earlier token by its content "
                "alone, not by how far back it sits: shuffle the tokens before a query and each "
                "keeps its weight. "
                "The GPT learns one more vector per position and adds it to the token's embedding.")
    left, right = st.columns([3, 2])
    chart(figure_positional(positions, "Position × dimension"), key="emb_positional", where=left)
    left.caption("One row per position, one column per dimension: a column whose color drifts "
                 "from top to bottom is a dimension that tracks where a token sits.")
    position_labels = [str(p) for p in range(len(positions))]
    chart(figure_cosine_heatmap(cosine_matrix(positions), position_labels,
                                "Cosine between positions", axis_title="position", height=420),
          key="emb_position_cosine", where=right)
    similar = position_similarity(positions)
    if similar is not None:
        near, far = similar
        verdict = ("nearby positions are more alike than distant ones" if near > far + 0.1 else
                   "this model did not make nearby positions much more alike than distant ones — "
                   "nothing forces it to: it only needs positions it can tell apart")
        right.caption(f"Mean cosine of neighbouring positions {plain(near)}, of positions 16 or more "
                      f"apart {plain(far)}: {verdict}.")
next_step("pages/embeddings.py")
