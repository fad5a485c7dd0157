"""The embeddings page (/embeddings): PCA scatter, neighbours, prompt cosine, GPT positions."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from lmviz.figures.style import show_whitespace
from lmviz.presets import View
from tests.app.apptest import open_app_page, plotly_array


def open_page(**params: str) -> AppTest:
    return open_app_page('pages/embeddings.py', **params)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace_types(figure: dict) -> set[str]:
    return {trace["type"] for trace in figure["data"]}


def test_lstm_default_scatter_neighbours_and_prompt() -> None:
    at = open_page()
    assert any("input to the cell" in i.value for i in at.info)
    charts = figures(at)
    assert len(charts) == 3  # scatter, neighbours, prompt cosine: no positions for the LSTM
    scatter, neighbours, prompt = charts
    assert trace_types(scatter) == {"scatter"}
    kinds = {t["name"] for t in scatter["data"]} - {"ring: chosen", "ring: neighbours"}
    assert kinds <= {"letter", "digit", "whitespace", "punctuation", "other"}
    assert "word" not in kinds  # a char vocabulary has no words
    # the ring is on the chosen token ("e"), the thin rings on the table's neighbours
    points = {label: (x, y) for t in scatter["data"] if "customdata" in t
              for (label, _), x, y in zip(t["customdata"], plotly_array(t["x"]), plotly_array(t["y"]), strict=True)}
    chosen, ringed = (next(t for t in scatter["data"] if t["name"] == f"ring: {n}") for n in ("chosen", "neighbours"))
    assert (plotly_array(chosen["x"])[0], plotly_array(chosen["y"])[0]) == points["e"]
    table = [show_whitespace(token) for token in at.dataframe[0].value["token"]]
    assert list(zip(plotly_array(ringed["x"]), plotly_array(ringed["y"]), strict=True)) == [points[token] for token in table]
    assert "% of variance" in scatter["layout"]["xaxis"]["title"]["text"]
    said = next(c.value for c in at.caption if "of the variance" in c.value)
    total, *parts = (float(x) for x in re.findall(r"(\d+\.\d)%", said))
    # the parts add up to the total, each rounded to a tenth
    assert len(parts) == 2 and abs(sum(parts) - total) <= 0.1 + 1e-9
    # counted, not claimed: the caption's count is the table's, against 7.1 by chance, and a
    # difference within two spreads of a random draw's count (1.43 each) is called no difference
    same = sum(kind == "letter" for kind in at.dataframe[0].value["kind"])
    said = next(c.value for c in at.caption if "Cosine similarity compares" in c.value)
    assert f"Here {same} of the 10 are a letter like “e”" in said
    assert ("within what 10 tokens picked at random would give (7.1, give or take 2.9)" in said) == (
        abs(same - 7.1) < 2 * 1.43)
    assert at.selectbox(key="emb_token").format_func(at.selectbox(key="emb_token").value).startswith("e ")
    assert len(neighbours["data"][0]["x"]) == 10 and len(at.dataframe[0].value) == 10
    heat = prompt["data"][0]
    assert heat["type"] == "heatmap" and heat["zmin"] == -1 and heat["zmax"] == 1
    assert heat["x"][0] == "0:T" and len(heat["x"]) == len(View().prompt)
    assert not any("Positional" in s.value for s in at.subheader)


def test_word_vocabulary_is_words_not_letters() -> None:
    at = open_page(tokenizer="word", steps="20", hidden_size="32")
    scatter = figures(at)[0]
    assert {"word", "punctuation"} <= {t["name"] for t in scatter["data"]}
    caption = next(c.value for c in at.caption if "Cosine similarity compares" in c.value)
    assert "a word like “␣the”" in caption and "letter" not in caption
    # above chance, about chance or below it: one sentence of the three
    assert sum(said in caption for said in ("would give about", "does not set them apart",
                                            "is not what brings them close")) == 1


def test_gpt_radio_three_d_and_positions() -> None:
    at = open_page()
    at.radio(key="emb_dims").set_value(3).run()
    assert not at.exception and trace_types(figures(at)[0]) == {"scatter3d"}
    at.radio(key="emb_family").set_value("gpt").run()
    assert not at.exception
    charts = figures(at)
    assert len(charts) == 5
    assert trace_types(charts[0]) == {"scatter3d"}
    positional, position_cosine = charts[3], charts[4]
    assert positional["data"][0]["z"]["shape"] == "64, 128"  # plotly sends arrays as typed bytes
    assert len(position_cosine["data"][0]["x"]) == 64
    assert any(s.value == "Positional embeddings (GPT)" for s in at.subheader)
    assert any("Mean cosine of neighbouring positions" in c.value for c in at.caption)


def test_sidebar_gpt_has_no_family_radio() -> None:
    at = open_page(model="gpt")
    assert [r.key for r in at.radio] == ["emb_dims"]
    assert len(figures(at)) == 5


def test_neighbours_of_the_first_and_last_token() -> None:
    at = open_page()
    box = at.selectbox(key="emb_token")
    for token_id in (0, len(box.options) - 1):
        at.selectbox(key="emb_token").set_value(token_id).run()
        assert not at.exception
        ids = at.dataframe[0].value["id"].tolist()
        assert len(ids) == 10 and token_id not in ids


def test_long_unknown_prompt_is_cut_and_capped() -> None:
    at = open_page(model="gpt", prompt="Ω" * 300)
    assert any("longer than the model's context" in i.value for i in at.info)
    assert any("<unk>" in i.value for i in at.info)
    prompt = figures(at)[2]["data"][0]
    assert len(prompt["x"]) == 60
    # positions as the model numbers them, as Attention does: the last 60 of 64 are 4..63
    assert prompt["x"][0].startswith("4:") and prompt["x"][-1].startswith("63:")
    # "only its end is shown": the heatmap's 60 are the end of the 64 the GPT reads, not their start
    assert any("the last 60 of the 64 tokens the model reads" in c.value for c in at.caption)
    at = open_page(prompt="the keeper " * 10)  # an LSTM reads it all: the heatmap, its start
    assert any("the first 60 of 110 tokens" in c.value for c in at.caption)


def test_empty_prompt_keeps_the_vocabulary_charts() -> None:
    at = open_page()
    at.session_state["prompt"] = ""
    at.run()
    assert not at.exception
    assert any("prompt is empty" in w.value for w in at.warning)
    assert len(figures(at)) == 2
