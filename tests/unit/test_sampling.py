"""Temperature, top-k, top-p and seeded generation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lmviz.sampling as sampling
from lmviz.models import ModelConfig, build_model
from lmviz.run import Run
from lmviz.sampling import (
    Generation,
    SamplingConfig,
    SamplingError,
    distribution,
    entropy_bits,
    generate,
    next_logits,
    ranked,
    softmax,
)
from lmviz.tokenizers import CharTokenizer, WordTokenizer

LOGITS = np.array([2.0, -1.0, 0.5, 3.5, 0.0, 1.2, -2.5, 3.4, 0.7, -0.3])
HAND_PROBS = np.array([0.5, 0.3, 0.15, 0.05])


def reference(logits: np.ndarray, temperature: float) -> np.ndarray:
    return torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, dim=-1).numpy()


def kept(probs: np.ndarray) -> set[int]:
    return {int(i) for i in np.flatnonzero(probs)}


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 1.7, 10.0, 100.0])
def test_distribution_is_softmax_over_temperature(temperature: float) -> None:
    probs = distribution(LOGITS, SamplingConfig(temperature=temperature))
    np.testing.assert_allclose(probs, reference(LOGITS, temperature), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(softmax(LOGITS, temperature), probs, rtol=1e-12)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


def test_softmax_survives_huge_logits() -> None:
    probs = softmax(np.array([1000.0, 999.0, -1000.0]), 0.01)
    assert np.isfinite(probs).all() and probs[0] == pytest.approx(1.0)


def test_temperature_zero_is_one_hot_argmax() -> None:
    with np.errstate(all="raise"):  # no division by zero, no invalid values
        probs = distribution(LOGITS, SamplingConfig(temperature=0.0))
    assert not np.isnan(probs).any()
    expected = np.zeros_like(LOGITS)
    expected[3] = 1.0
    np.testing.assert_array_equal(probs, expected)
    tied = distribution(np.array([1.0, 5.0, 5.0]), SamplingConfig(temperature=0.0))
    np.testing.assert_array_equal(tied, [0.0, 1.0, 0.0])  # ties go to the lower id


@pytest.mark.parametrize("k", [1, 3, 5, 9])
def test_top_k_keeps_exactly_the_k_largest(k: int) -> None:
    probs = distribution(LOGITS, SamplingConfig(top_k=k))
    largest = set(np.argsort(-LOGITS)[:k].tolist())
    assert kept(probs) == largest
    full = reference(LOGITS, 1.0)
    idx = sorted(largest)
    np.testing.assert_allclose(probs[idx], full[idx] / full[idx].sum(), rtol=1e-12)


def test_top_k_larger_than_vocab_keeps_everything() -> None:
    probs = distribution(LOGITS, SamplingConfig(top_k=50))
    np.testing.assert_allclose(probs, reference(LOGITS, 1.0), rtol=1e-10)


@pytest.mark.parametrize(
    ("top_p", "count"), [(0.3, 1), (0.5, 1), (0.51, 2), (0.8, 2), (0.81, 3), (0.95, 3), (0.96, 4),
                         (1.0, 4)]
)
def test_top_p_keeps_smallest_prefix_reaching_p(top_p: float, count: int) -> None:
    rank_of_id = [1, 3, 0, 2]  # not sorted by id, so ranks and ids differ
    logits = np.log(HAND_PROBS[rank_of_id])  # probabilities 0.3, 0.05, 0.5, 0.15
    probs = distribution(logits, SamplingConfig(top_p=top_p))
    expected_ids = {i for i, rank in enumerate(rank_of_id) if rank < count}
    assert kept(probs) == expected_ids
    original = np.exp(logits)
    idx = sorted(expected_ids)
    np.testing.assert_allclose(probs[idx], original[idx] / original[idx].sum(), rtol=1e-9)


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"),
    [(1.0, 3, 0.8), (1.0, 1, 0.99), (2.0, 4, 0.7), (0.5, 6, 0.9), (1.3, 8, 0.6)],
)
def test_combined_filters_match_independent_computation(
        temperature: float, top_k: int, top_p: float) -> None:
    probs = distribution(LOGITS, SamplingConfig(temperature, top_k, top_p))
    full = reference(LOGITS, temperature)
    top = np.argsort(-full)[:top_k]  # top-k first; top-p then measures what it left
    prefix = int(np.argmax(np.cumsum(full[top]) / full[top].sum() >= top_p)) + 1
    keep = top[:prefix]
    expected = np.zeros_like(full)
    expected[keep] = full[keep] / full[keep].sum()
    np.testing.assert_allclose(probs, expected, rtol=1e-10, atol=1e-15)


def test_ranked_and_entropy() -> None:
    assert ranked(np.array([0.1, 0.4, 0.1, 0.4])).tolist() == [1, 3, 0, 2]
    assert entropy_bits(np.full(4, 0.25)) == pytest.approx(2.0)
    assert entropy_bits(np.array([1.0, 0.0])) == 0.0


@pytest.mark.parametrize(
    "settings",
    [{"temperature": math.nan}, {"temperature": -0.1}, {"temperature": math.inf},
     {"temperature": 101.0}, {"top_k": -1}, {"top_p": 0.0}, {"top_p": 1.01}, {"top_p": -0.5},
     {"top_p": math.nan}],
)
def test_sampling_config_rejects_bad_values(settings: dict) -> None:
    with pytest.raises(SamplingError):
        SamplingConfig(**settings)


def test_greedy_generation_picks_rank_one(lstm_run: Run) -> None:
    generation = generate(lstm_run.model, lstm_run.tokenizer, "The light", SamplingConfig(0.0),
                          12, seed=3)
    assert len(generation.steps) == 12
    ids = lstm_run.tokenizer.encode("The light").ids
    for step in generation.steps:
        assert step.rank == 1 and step.probability == 1.0
        with torch.no_grad():
            logits = lstm_run.model(torch.tensor([ids]))[0, -1]
        assert step.id == int(torch.argmax(logits))
        ids.append(step.id)
    assert generation.text == "The light" + "".join(s.token for s in generation.steps)
    assert generation.truncated is False


def test_same_seed_same_generation_and_prefix(lstm_run: Run) -> None:
    config = SamplingConfig(temperature=1.0, top_k=20)

    def run(n: int, seed: int) -> Generation:
        return generate(lstm_run.model, lstm_run.tokenizer, "the ", config, n, seed=seed)

    first, again = run(15, 11), run(15, 11)
    assert [s.id for s in first.steps] == [s.id for s in again.steps]
    assert first.text == again.text
    short = run(6, 11)
    assert [s.id for s in first.steps[:6]] == [s.id for s in short.steps]
    assert first.text.startswith(short.text)
    others = {tuple(s.id for s in run(15, seed).steps) for seed in range(4)}
    assert len(others) > 1  # the seed matters


def test_steps_are_consistent_with_their_distribution(lstm_run: Run) -> None:
    config = SamplingConfig(temperature=1.2, top_k=30, top_p=0.95)
    vocab = lstm_run.tokenizer.vocab_size
    generation = generate(lstm_run.model, lstm_run.tokenizer, "She said", config, 10, seed=5,
                          top_n=vocab)
    for step in generation.steps:
        np.testing.assert_allclose(step.probs, distribution(step.logits, config))
        assert step.probability == step.probs[step.id] > 0.0
        assert step.rank == int(np.flatnonzero(ranked(step.probs) == step.id)[0]) + 1
        assert step.rank == 1 + int((step.probs > step.probability).sum()) + int(
            (step.probs[:step.id] == step.probability).sum())
        assert len(step.top) == vocab
        assert step.id in [entry.id for entry in step.top]
        top_probs = [entry.probability for entry in step.top]
        assert top_probs == sorted(top_probs, reverse=True)
        assert all(entry.token == lstm_run.tokenizer.vocab[entry.id] for entry in step.top)
        assert step.token == lstm_run.tokenizer.vocab[step.id]
        assert step.rank <= 30
        assert step.to_dict()["top"][0] == vars(step.top[0])


def test_top_n_limits_the_listed_alternatives(lstm_run: Run) -> None:
    generation = generate(lstm_run.model, lstm_run.tokenizer, "a", SamplingConfig(), 3, top_n=4)
    assert all(len(step.top) == 4 for step in generation.steps)


def test_empirical_frequencies_match_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = CharTokenizer.train("abcdefgh")
    logits = np.array([-1.0, 1.5, 0.2, 0.9, -0.4, 2.0, 0.0, 1.1, -3.0], dtype=np.float32)
    monkeypatch.setattr(sampling._LogitStream, "current", lambda self: logits)  # fixed logits
    model = build_model(ModelConfig(vocab_size=tokenizer.vocab_size, embed_size=2, hidden_size=2))
    config = SamplingConfig(temperature=1.3, top_k=6)
    draws = 4000
    generation = generate(model, tokenizer, "a", config, draws, seed=123, top_n=1)
    counts = np.bincount([s.id for s in generation.steps], minlength=len(logits))
    expected = distribution(logits, config) * draws
    assert (counts[expected == 0] == 0).all()  # filtered tokens are never drawn
    support = expected > 0
    assert support.sum() == 6
    chi_square = (((counts - expected)[support]) ** 2 / expected[support]).sum()
    assert chi_square < 20.5  # 5 degrees of freedom: p ≈ 0.001


def test_gpt_prompt_longer_than_context_is_truncated(gpt_run: Run) -> None:
    prompt = "the keeper of the lighthouse walked down"  # longer than the 16-token context
    generation = generate(gpt_run.model, gpt_run.tokenizer, prompt, SamplingConfig(0.0), 4)
    assert generation.truncated is True
    assert len(generation.steps) == 4
    short = generate(gpt_run.model, gpt_run.tokenizer, prompt[-16:], SamplingConfig(0.0), 1)
    assert short.truncated is False
    assert short.steps[0].id == generation.steps[0].id  # only the last 16 tokens matter


def test_generate_edge_cases(lstm_run: Run) -> None:
    assert generate(lstm_run.model, lstm_run.tokenizer, "abc", SamplingConfig(), 0).text == "abc"
    empty = generate(lstm_run.model, lstm_run.tokenizer, "", SamplingConfig(), 3)
    assert len(empty.steps) == 3 and empty.text == "".join(s.token for s in empty.steps)
    with pytest.raises(SamplingError):
        generate(lstm_run.model, lstm_run.tokenizer, "abc", SamplingConfig(), -1)


def test_recurrent_generation_carries_state_like_a_full_recompute(lstm_run: Run) -> None:
    """The LSTM keeps its hidden state between tokens; every step's logits equal a fresh pass."""
    generation = generate(lstm_run.model, lstm_run.tokenizer, "the keeper", SamplingConfig(0.9), 12,
                          seed=5)
    ids = lstm_run.tokenizer.encode("the keeper").ids
    for step in generation.steps:
        np.testing.assert_allclose(step.logits, next_logits(lstm_run.model, ids), atol=1e-4)
        ids.append(step.id)


def test_gpt_generation_with_cache_equals_full_passes(gpt_run: Run) -> None:
    """The GPT's cached keys and values give each step's logits of a fresh pass over the last
    `context` tokens, before and after the text slides past the context."""
    generation = generate(gpt_run.model, gpt_run.tokenizer, "the keeper", SamplingConfig(0.9), 30,
                          seed=5)
    context = gpt_run.model_config.context
    ids = gpt_run.tokenizer.encode("the keeper").ids
    assert len(ids) + 30 > context  # the window slides during this generation
    for step in generation.steps:
        np.testing.assert_allclose(step.logits, next_logits(gpt_run.model, ids[-context:]), atol=1e-4)
        ids.append(step.id)


@pytest.mark.parametrize("split", [1, 5, 8])
def test_gpt_extend_by_several_tokens_after_a_cache_equals_one_pass(gpt_run: Run, split: int) -> None:
    """Several new tokens after cached ones: each sees the cache and the new ones up to itself."""
    ids = torch.tensor([gpt_run.tokenizer.encode("the keeper climbed").ids[:12]])
    full = gpt_run.model(ids)
    _, cache = gpt_run.model.extend(ids[:, :split])
    logits, cache = gpt_run.model.extend(ids[:, split:], cache)
    torch.testing.assert_close(logits, full[:, split:], atol=1e-5, rtol=1e-5)
    assert cache[0][0].shape[2] == ids.shape[1]


def test_temperature_moves_probability_as_the_sampling_page_says() -> None:
    """Below 1 the tallest bar always grows and the smallest shrinks most (runners-up may shrink
    too); above 1 the tallest falls and the smallest grows."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        logits = rng.normal(0, 3, 40)
        one, sharp, flat = (softmax(logits, t) for t in (1.0, 0.5, 2.0))
        top, bottom = int(np.argmax(logits)), int(np.argmin(logits))
        assert sharp[top] > one[top] > flat[top]
        assert sharp[bottom] < one[bottom] < flat[bottom]
        ratio = np.log(sharp / one)  # how fast each bar changes: faster the shorter it is
        assert np.all(np.diff(ratio[np.argsort(-logits)]) <= 1e-9)
    logits = np.array([2.0, 1.0, 0.9, 0.0])  # a runner-up far below the top shrinks too
    assert softmax(logits, 0.5)[1] < softmax(logits, 1.0)[1]


def test_a_tiny_temperature_is_greedy_not_nan() -> None:
    """?temperature=1e-320 in a link: logits / T overflowed to inf and inf − inf gave NaN."""
    probs = softmax(np.array([2.0, 1.0, 2.0 - 1e-3]), 1e-320)
    assert np.all(np.isfinite(probs)) and probs.tolist() == [1.0, 0.0, 0.0]


def test_a_word_model_s_unknown_word_reads_with_its_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """A word tokenizer's <unk> stands for a " word": after a word it adds " <unk>", and the
    generated text is the decoded ids."""
    tokenizer = WordTokenizer.train("the cat sat. the cat sat.", 8)
    logits = np.full(tokenizer.vocab_size, -50.0, dtype=np.float32)
    logits[tokenizer.unk_id] = 0.0  # always <unk>
    monkeypatch.setattr(sampling._LogitStream, "current", lambda self: logits)
    model = build_model(ModelConfig(vocab_size=tokenizer.vocab_size, embed_size=2, hidden_size=2))
    generation = generate(model, tokenizer, "the cat", SamplingConfig(temperature=1.0), 2)
    assert [s.token for s in generation.steps] == [" <unk>", " <unk>"]
    assert all(s.top[0].token == s.token for s in generation.steps)  # the alternatives read alike
    assert generation.text == "the cat <unk> <unk>" == tokenizer.decode(
        tokenizer.encode("the cat").ids + [s.id for s in generation.steps])
