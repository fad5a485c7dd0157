"""One query's attention recomputed (against the trace), induction scores and attention figures."""

from __future__ import annotations

import numpy as np
import pytest

from lmviz.attention_math import (
    AttentionError,
    QueryStep,
    clearest_copy,
    copy_distances,
    induction_scores,
    induction_targets,
    masked_attention,
    previous_token_scores,
    query_step,
)
from lmviz.figures.attention import (
    MASKED_COLOR,
    figure_attention,
    figure_head_grid,
    figure_induction,
    figure_query_steps,
    figure_weighted_sum,
    query_latex,
    query_rows,
    stripes_sentence,
    weighted_keys,
    weighted_sum_caption,
)
from lmviz.figures.labels import short_labels
from lmviz.figures.style import ACCENT
from lmviz.models import Trace
from lmviz.run import Run

TEXT = "the sea and the sea"


@pytest.fixture(scope="module")
def trace(gpt_run: Run) -> Trace:
    return gpt_run.model.trace(gpt_run.tokenizer.encode(TEXT[:16]).ids)


def test_query_step_reproduces_every_row(trace: Trace) -> None:
    layers, heads, length, _ = trace.attention.shape
    for layer in range(layers):
        for head in range(heads):
            for query in range(length):
                step = query_step(trace, layer, head, query)
                np.testing.assert_allclose(step.weights, trace.attention[layer, head, query, : query + 1],
                                           atol=1e-5)
                np.testing.assert_allclose(trace.attention[layer, head, query, query + 1:], 0, atol=1e-7)
                assert step.weight_sum == pytest.approx(1.0, abs=1e-9)
                values = trace.values[layer, head, : query + 1]
                np.testing.assert_allclose(step.output, step.weights @ values, atol=1e-5)


def test_query_step_scaling(trace: Trace) -> None:
    step = query_step(trace, 1, 0, 5)
    assert step.head_size == trace.queries.shape[-1] and step.scale == pytest.approx(np.sqrt(step.head_size))
    np.testing.assert_allclose(step.scaled, step.scores / step.scale)
    q, k = trace.queries[1, 0, 5].astype(np.float64), trace.keys[1, 0, 2].astype(np.float64)
    assert step.scores[2] == pytest.approx(float(q @ k), rel=1e-6)
    assert step.top_keys(1)[0] == int(np.argmax(step.weights))
    assert step.output_norm == pytest.approx(float(np.linalg.norm(step.output)))


def test_query_step_rejects_bad_input(trace: Trace, lstm_run: Run) -> None:
    for layer, head, query in [(2, 0, 0), (0, 2, 0), (0, 0, 16), (-1, 0, 0)]:
        with pytest.raises(AttentionError):
            query_step(trace, layer, head, query)
    with pytest.raises(AttentionError):
        query_step(lstm_run.model.trace([1, 2, 3]), 0, 0, 0)


def test_masked_attention() -> None:
    out = masked_attention(np.tril(np.ones((4, 4))) / 4)
    assert np.isnan(out[0, 1]) and np.isnan(out[2, 3]) and not np.isnan(out[3, 0])
    assert np.isnan(out).sum() == 6


def test_copy_distances_are_the_stripes_of_copied_spans() -> None:
    line = [ord(c) for c in "fu gip | fu gip\nkqz bol ent | kqz bol"]
    assert copy_distances(induction_targets(line)) == [8, 13]  # the two lines' copies
    # copies 3 apart: the token after the earlier copy is 2 back
    assert copy_distances(induction_targets([1, 2, 3, 1, 2, 3])) == [2]
    assert copy_distances(induction_targets([1, 2, 3, 1, 2, 3]), least=4) == []
    assert copy_distances(induction_targets([1, 2, 3])) == []  # nothing repeats


def test_the_stripes_sentence_needs_the_example_s_two_copies() -> None:
    line = [ord(c) for c in "fu gip | fu gip\nkqz bol ent | kqz bol"]
    assert "diagonal, 8 and 13 tokens to its left on the example's two lines" in stripes_sentence(line)
    assert stripes_sentence([1, 2, 3, 1, 2, 3]) == ""  # one copy: no two stripes to tell apart


def test_induction_targets() -> None:
    assert induction_targets([7, 8, 9, 7, 8, 7]) == [[], [], [], [1], [2], [1, 4]]
    # a doubled token: the one after the first is itself, no earlier place to look ("keeper")
    assert induction_targets([5, 5]) == [[], []]
    assert induction_targets([5, 6, 5, 5]) == [[], [], [1], [1]]


def test_unknown_tokens_are_not_repeats() -> None:
    # two different unknown words both become id 0: not a repeat, neither as query nor as target
    assert induction_targets([0, 4, 0, 4], unknown_id=0) == [[], [], [], [2]]
    assert induction_targets([0, 0], unknown_id=0) == [[], []]
    attention = np.ones((1, 1, 3, 3)) / 3
    assert induction_scores(fake_trace([0, 2, 0], attention), unknown_id=0).queries == 0
    assert induction_scores(fake_trace([0, 2, 0], attention)).queries == 1  # without the id


def fake_trace(ids: list[int], attention: np.ndarray) -> Trace:
    layers, heads, length, _ = attention.shape
    zeros = np.zeros((layers, heads, length, 2), dtype=np.float32)
    return Trace(ids=ids, logits=np.zeros((length, 3)), embeddings=np.zeros((3, 2)),
                 inputs=np.zeros((length, 2)), attention=attention, queries=zeros, keys=zeros,
                 values=zeros)


def test_induction_scores_find_a_perfect_head() -> None:
    ids = [1, 2, 3, 1, 2, 3]
    length = len(ids)
    attention = np.zeros((1, 2, length, length))
    attention[0, 1] = np.tril(np.ones((length, length))) / np.arange(1, length + 1)[:, None]  # uniform
    for t, targets in enumerate(induction_targets(ids)):
        attention[0, 0, t, targets[0] if targets else t] = 1.0  # head 0: perfect induction
    scores = induction_scores(fake_trace(ids, attention))
    assert scores.queries == 3
    assert scores.scores[0, 0] == pytest.approx(1.0)
    expected_chance = np.mean([1 / 4, 1 / 5, 1 / 6])
    assert scores.chance == pytest.approx(expected_chance)
    assert scores.scores[0, 1] == pytest.approx(expected_chance)


def test_clearest_copy_is_the_repeat_that_pays_its_target_most() -> None:
    ids = [1, 2, 3, 1, 2, 3]  # targets: 3 -> [1], 4 -> [2], 5 -> [3]
    attention = np.tile(np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None], (1, 2, 1, 1))
    attention[0, 1, 4] = [0, 0, 0.9, 0, 0.1, 0]  # head 1 copies best at query 4
    attention[0, 1, 5] = [0, 0, 0, 0.6, 0, 0.4]
    assert clearest_copy(fake_trace(ids, attention), 0, 1) == 4
    assert clearest_copy(fake_trace(ids, attention), 0, 0) == 3  # uniform: 1/4 > 1/5 > 1/6
    assert clearest_copy(fake_trace([1, 2, 3], attention[:, :, :3, :3]), 0, 1) is None
    with pytest.raises(AttentionError):
        clearest_copy(fake_trace(ids, attention), 0, 2)


def test_induction_scores_without_repeats() -> None:
    attention = np.ones((2, 3, 3, 3)) / 3
    scores = induction_scores(fake_trace([1, 2, 3], attention))
    assert scores.queries == 0 and scores.scores.shape == (2, 3) and not scores.scores.any()


def test_previous_token_scores() -> None:
    length = 4
    attention = np.zeros((2, 1, length, length))
    attention[0, 0] = np.tril(np.ones((length, length))) / np.arange(1, length + 1)[:, None]  # uniform
    attention[1, 0, 0, 0] = 1.0
    attention[1, 0, np.arange(1, length), np.arange(length - 1)] = 1.0  # always the previous token
    scores, chance = previous_token_scores(fake_trace([1, 2, 3, 4], attention))
    assert chance == pytest.approx(np.mean([1 / 2, 1 / 3, 1 / 4]))
    assert scores[0, 0] == pytest.approx(chance) and scores[1, 0] == pytest.approx(1.0)
    one = previous_token_scores(fake_trace([1], np.ones((2, 3, 1, 1))))
    assert one[0].shape == (2, 3) and not one[0].any() and one[1] == 0.0


def test_attention_figures(trace: Trace) -> None:
    layers, heads, length, _ = trace.attention.shape
    labels = short_labels([str(i) for i in range(length)])
    fig = figure_attention(trace.attention[0, 1], labels, "title", query=4)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (length, length) and np.isnan(z[0, 1]) and not np.isnan(z[1, 0])
    assert fig.layout.shapes[0].y0 == 3.5 and fig.layout.plot_bgcolor is not None
    grid = figure_head_grid(trace.attention, selected=(1, 0))
    assert len(grid.data) == layers * heads
    axes = [grid.layout[f"{axis}axis{n}"] for axis in "xy" for n in ("", *range(2, layers * heads + 1))]
    assert all(axis.zeroline is False for axis in axes)  # no white line through masked row 0
    assert len(grid.layout.annotations) == layers * heads

    step = query_step(trace, 0, 1, 4)
    steps = figure_query_steps(step, labels)
    assert len(steps.data) == 3 and all(len(bar.y) == 5 for bar in steps.data)
    np.testing.assert_allclose(steps.data[2].y, step.weights)
    summed = figure_weighted_sum(step, labels, rows=3)
    z = np.asarray(summed.data[0].z)
    assert z.shape == (4, step.head_size)
    np.testing.assert_allclose(z[-1], step.output)
    rows = query_rows(step, labels)
    assert len(rows) == 5 and sum(r["weight"] for r in rows) == pytest.approx(1.0)
    tagged = figure_weighted_sum(step, ["<b>x</b>", *labels[1:]], rows=5)  # Plotly reads tags
    assert any("v[&lt;b&gt;x&lt;/b&gt;]" in str(name) for name in tagged.data[0].y)


def test_head_grid_panels_stay_square_with_their_outline_inside() -> None:
    attention = np.tril(np.ones((2, 4, 6, 6))) / np.arange(1, 7)[:, None]
    grid = figure_head_grid(attention, selected=(1, 2))
    for n in ("", *range(2, 9)):
        x, y = grid.layout[f"xaxis{n}"], grid.layout[f"yaxis{n}"]
        # square cells whatever the width: a phone shrinks the panel, not one side of it
        assert y.scaleanchor == f"x{n}" and x.constrain == y.constrain == "domain"
    # the title and the outline sit on the panel's own (shrunk) domain, not on the cell's paper
    # coordinates: on a phone those put them beside the panel
    assert {(a.xref, a.yref) for a in grid.layout.annotations} == {(f"x{n} domain", f"y{n} domain")
                                                                   for n in ("", *range(2, 9))}
    (outline,) = [s for s in grid.layout.shapes if s.line.color == ACCENT]
    assert (outline.xref, outline.yref) == ("x7 domain", "y7 domain")  # layer 1, head 2: the 7th
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (0, 1, 0, 1)
    # the masked grey under each panel alone, below the heatmap's gaps
    grey = [s for s in grid.layout.shapes if s.fillcolor == MASKED_COLOR]
    assert len(grey) == 8 and all(s.layer == "below" and s.xref.endswith(" domain") for s in grey)
    assert all(s.line.color != ACCENT for s in figure_head_grid(attention).layout.shapes)  # none chosen
    # many heads: smaller rows, as a desktop's columns get narrower
    assert figure_head_grid(np.ones((2, 8, 3, 3))).layout.height < grid.layout.height
    assert figure_head_grid(np.ones((1, 4, 3, 3))).layout.height < grid.layout.height


def test_query_latex_numbers(trace: Trace) -> None:
    step = query_step(trace, 1, 1, 6)
    latex = query_latex(step, 3)
    for number in (step.scores[3], step.scaled[3], step.weights[3]):
        assert f"{number:.4f}" in latex
    assert f"{step.weight_sum:.6f}" in latex and rf"\sqrt{{{step.head_size}}}" in latex
    assert rf"\max_{{m \le 6}} s_{{6,m}} &= {step.scaled.max():.4f}" in latex


def test_query_latex_shifts_by_the_max_so_numbers_stay_readable() -> None:
    # scores like the copy lesson's: e^32 unshifted printed a denominator of 85941401854769
    scores = np.array([10.0, 128.0, 100.0])  # / √16: 2.5, 32, 25
    scaled = scores / 4
    exp = np.exp(scaled - scaled.max())
    weights = exp / exp.sum()
    values = np.eye(3)
    step = QueryStep(0, 0, 2, 16, scores, scaled, weights, values, weights @ values)
    latex = query_latex(step, 2)
    assert r"e^{s_{2,2} - \max}" in latex and r"\max_{m \le 2} s_{2,m} &= 32.0000" in latex
    assert rf"\frac{{e^{{-7.0000}}}}{{{exp.sum():.4f}}} = {weights[2]:.4f}" in latex
    assert 1 <= exp.sum() <= 3 and "e+" not in latex and len(f"{exp.sum():.4f}") == 6
    assert f"{step.weight_sum:.6f}" == "1.000000" and "1.000000" in latex  # the weights sum to 1


def test_induction_figure() -> None:
    attention = np.ones((2, 3, 4, 4)) / 4
    fig = figure_induction(induction_scores(fake_trace([1, 2, 1, 2], attention)))
    assert np.asarray(fig.data[0].z).shape == (2, 3)
    # every cell with three decimals, "0.100" beside "0.150" (rounded numbers printed "0.1")
    assert fig.data[0].texttemplate == "%{z:.3f}" and fig.data[0].text is None


def _step(weights: list[float]) -> QueryStep:
    w = np.asarray(weights)
    values = np.arange(len(w) * 2, dtype=float).reshape(len(w), 2)
    return QueryStep(layer=0, head=0, query=len(w) - 1, head_size=2, scores=np.log(w + 1e-12),
                     scaled=np.log(w + 1e-12), weights=w, values=values, output=w @ values)


def test_the_weighted_sum_draws_only_keys_that_carry_weight() -> None:
    """A peaked head's 'most attended keys' had been one at 1.00 and five at 0.00."""
    peaked = _step([0.0, 0.001, 0.996, 0.003, 0.0, 0.0, 0.0])
    assert weighted_keys(peaked) == [2]
    fig = figure_weighted_sum(peaked, list("abcdefg"))
    assert list(fig.data[0].y) == ["1.00 · v[c]", "output Σ w·v"]
    assert weighted_sum_caption(peaked) == (
        "The head's output is the weighted sum of the value vectors: the row above the line is the most "
        "attended key (the only key with a weight of 0.01 or more), already times its weight; it adds up, "
        "with the other 6 keys, to the last row.")
    spread = _step([0.3, 0.5, 0.195, 0.005])
    assert weighted_keys(spread) == [0, 1, 2] and weighted_keys(spread, rows=2) == [0, 1]
    assert "the 3 rows above the line are the most attended keys (those with a weight of 0.01 or more, " \
           "at most 6), each already times its weight; they add up, with the other 1 key, to" in weighted_sum_caption(spread)
    alone = _step([1.0])
    assert weighted_sum_caption(alone).endswith("already times its weight; it adds up to the last row.")
    flat = _step([1 / 200] * 200)  # no key reaches 0.01: the most attended one is still drawn
    assert weighted_keys(flat) == [0] and "no key reaches a weight of 0.01" in weighted_sum_caption(flat)
