"""Tokenization: the prompt as token chips, three tokenizers side by side, BPE merges one by one."""

import streamlit as st

from lmviz.figures.labels import markdown_piece
from lmviz.figures.style import TOKEN_PALETTE
from lmviz.figures.tokens import (
    chips_html,
    count_tokens,
    encoding_chips,
    figure_tokenizer_comparison,
    first_merges_markdown,
    known_with_a_space,
    merge_chips,
    merge_html,
    merge_rows,
    merge_step,
    merges_outcome,
    spaced_words_sentence,
    telling_step,
    unknown_tokens_sentence,
)
from lmviz.presets import RANGES, View
from lmviz.text import agreeing, counted, sentence
from lmviz.tokenizers import LONGEST_TOKEN, TOKEN_NAMES, TOKENIZER_KINDS, UNK, BPETokenizer
from lmviz.ui.charts import chart
from lmviz.ui.lesson import heading, next_step
from lmviz.ui.state import current_view, ensure_prompt, keep_choice, require_app
from lmviz.ui.tokens import MERGE_COLUMNS, trained_tokenizer

require_app()

KIND_LABELS = {kind: sentence(name) for kind, name in TOKEN_NAMES.items()}  # "Word tokens"


def show_chips(html: str) -> None:
    st.markdown(html, unsafe_allow_html=True)  # every piece is escaped by chips_html


@st.fragment
def merges_stepper(tokenizer: BPETokenizer, prompt: str, whitespace: bool) -> None:
    """Only this part reruns while the merge slider moves."""
    total = len(tokenizer.merges)
    if total == 0:
        if current_view().vocab_size <= tokenizer.vocab_size:
            st.info(f"This BPE learned no merges: a BPE keeps every character of its corpus (here "
                    f"{tokenizer.vocab_size:,} tokens with {UNK}), so a vocabulary size of "
                    f"{current_view().vocab_size:,} leaves no room for a merge. Raise the vocabulary "
                    f"size above {tokenizer.vocab_size:,} to let it merge pairs.")
        else:  # room, but nothing to merge: BPE merges only within a word
            st.info("This BPE learned no merges: BPE merges pairs inside a word, and no two "
                    "characters of this text ever stand side by side in one.")
        return
    # opens on a merge the prompt uses, again for a new prompt or vocabulary
    keep_choice("bpe_step", range(total + 1), telling_step(tokenizer, prompt),
                made_for=(tokenizer.vocab_size, total, prompt))
    k = st.slider("Merges learned (k)", 0, total, key="bpe_step",
                  help="0: characters only. Each step adds the pair that was most frequent in the "
                       "corpus after the merges before it.")
    step = merge_step(tokenizer, prompt, k)
    left, right = st.columns(2)
    with left:
        if step.pair is None:
            st.markdown("**k = 0:** no merges yet — every character is its own token.")
        else:
            show_chips(merge_html(step, tokenizer.index, whitespace=True))  # "␣" + "b", not " " + "b"
        show_chips(chips_html(merge_chips(step, tokenizer.index, prompt), whitespace))
        used = (f"Outlined chips were made by merge {k}." if step.merged in step.pieces else
                f"Merge {k} makes “{markdown_piece(step.merged or '')}”, which this "
                "prompt does not contain, so the prompt's tokens do not change at this step.")
        made = (f"After {k:,} of {total:,} merges the prompt is **{counted(len(step.pieces), 'token')}** "
                f"({counted(len(prompt), 'character')} at k = 0). {used}" if k else
                f"Before any of the {total:,} merges the prompt is **{counted(len(step.pieces), 'token')}**, "
                "one per character. Move k to merge the most frequent pairs.")
        st.caption(made)
    with right:
        st.space()  # on a phone the columns stack: the table's toolbar covered the caption above
        st.dataframe(merge_rows(tokenizer.merges, k, pieces=step.pieces), hide_index=True,
                     width="stretch", column_config=MERGE_COLUMNS)


st.title(heading("pages/tokenization.py"))
st.markdown(
    "A model cannot read letters: it reads **token ids**, each the row number of a vector it "
    "learned. **Characters** give a tiny vocabulary but long sequences, so the model must "
    "remember over many steps. **Words** give short sequences but need a huge vocabulary to cover "
    "a text: at the same vocabulary size, every word outside it (all but the corpus's most "
    "frequent words) becomes `<unk>`. "
    "**Subword** tokenization (BPE) sits between: start from "
    "characters and merge the most frequent pair again and again, so common words become one "
    "token while rare words still split into known pieces."
)

low, high = (int(v) for v in RANGES["vocab_size"])
controls = st.columns([3, 1])
controls[0].slider("Vocabulary size (word and BPE)", low, high, View().vocab_size,
                   key="vocab_size", bind="query-params", persist_state="session",
                   help="How many tokens the word and BPE tokenizers keep. Retrains them on the "
                        "corpus; the model uses it too when the sidebar tokenizer is word or bpe.")
# on at first: a word's leading space is part of its token (" keeper"), and hidden it read
# "keeper" beside a lone space's empty chip
whitespace = controls[1].toggle("Show whitespace", value=True, key="tok_whitespace",
                                help="Draw the chips' spaces as ␣ (new lines are always ↵; the merge "
                                     "line and table always show ␣).")

view = current_view()
trained = {kind: trained_tokenizer(view, kind) for kind in TOKENIZER_KINDS}
if any(t is None for t in trained.values()):
    st.info("Upload or paste your text in the sidebar: the tokenizers are trained on it.")
    st.stop()
prompt = ensure_prompt(view)
if prompt is None:
    st.stop()

encodings = {kind: item.tokenizer.encode(prompt) for kind, item in trained.items()}
st.subheader(f"The prompt as {TOKEN_NAMES[view.tokenizer]}")  # "bpe tokens" had read raw
tokenizer, encoding = trained[view.tokenizer].tokenizer, encodings[view.tokenizer]
show_chips(chips_html(encoding_chips(encoding, prompt), whitespace))
st.caption(f"{counted(len(encoding.ids), 'token')}. The number under each chip is its id: the row of the "
           f"embedding table the model looks up. An id keeps its color on every page (colors repeat "
           f"every {len(TOKEN_PALETTE)} ids: the number tells tokens apart). "
           "The sidebar's Tokenizer picks which tokenizer this is.")
if encoding.unknown:
    unknown = len(encoding.unknown)
    st.info(f"{unknown_tokens_sentence(unknown)} (id {tokenizer.unk_id}); the small text under the "
            f"dashed {agreeing(unknown, 'chip shows what it was', 'chips shows what they were')}. "
            + agreeing(unknown, "The model sees any text outside its vocabulary as this one token.",
                       "The model sees them all as the same token.")
            + (f" {spaced_words_sentence(spaced)}" if (spaced := known_with_a_space(tokenizer, encoding, prompt)) else "")
            # a 300-letter word came out as five <unk> chips, unexplained
            + (f" A run of more than {LONGEST_TOKEN - 1} letters is cut into pieces of {LONGEST_TOKEN - 1} "
               "first, each a token of its own." if any(end - start >= LONGEST_TOKEN - 1
                                                        for start, end in encoding.offsets) else ""))

st.subheader("Characters, words or pieces?")
st.caption("Each tokenizer is trained on the current corpus. Fewer tokens mean shorter sequences "
           "for the model; the price is a bigger vocabulary.")
counts = []
for column, (kind, item) in zip(st.columns(3), trained.items(), strict=True):
    count = count_tokens(item.tokenizer, prompt, encodings[kind])
    counts.append(count)
    with column:
        st.metric(KIND_LABELS[kind], counted(count.tokens, "token"),
                  help=f"{count.chars_per_token:.2f} characters per token in the prompt")
        st.caption(f"{count.chars_per_token:.2f} chars/token here, "
                   f"{item.corpus.chars_per_token:.2f} on the whole corpus · vocabulary "
                   f"{item.tokenizer.vocab_size:,}" + (f" · {count.unknown} <unk>" if count.unknown else ""))
        show_chips(chips_html(encoding_chips(encodings[kind], prompt), whitespace))
chart(figure_tokenizer_comparison(counts, "Tokens for this prompt"))

st.subheader("BPE merges, one at a time")
bpe = trained["bpe"].tokenizer
first = first_merges_markdown(bpe.merges)
# the examples are this tokenizer's own first merges: which pairs come first depends on the corpus
early = "early merges glue the most frequent pairs" + (f" (this one's first two: {first})" if " and " in first else f" (this one's first: {first})" if first else "")
last = merges_outcome(bpe, prompt, trained["bpe"].words)
st.markdown("BPE starts from single characters and learns one merge per step. " +
            (f"Slide **k** to see the prompt after the first k merges: {early}" + (f"; {last}." if last else ".")
             if bpe.merges else "This one learned none (below says why)."))
merges_stepper(bpe, prompt, whitespace)
next_step("pages/tokenization.py")
