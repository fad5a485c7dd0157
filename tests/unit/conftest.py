"""Tiny runs and texts shared by the unit tests (trained once per package, never mutated)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from lmviz.corpora import load_corpus
from lmviz.models import ModelConfig
from lmviz.run import Run, TrainConfig
from lmviz.tokenizers import BPETokenizer, TokenizerConfig, train_tokenizer
from lmviz.training import train_run

# Small enough to train in well under a second on one CPU core.
TINY_TRAIN = TrainConfig(steps=20, batch_size=8, eval_every=10, log_every=5, sample_tokens=0,
                         device="cpu", seed=0)


@pytest.fixture(scope="package", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on shared cores spinning threads cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def story() -> str:
    return load_corpus("story")


@pytest.fixture(scope="package")
def story_bpe(story: str) -> BPETokenizer:
    tokenizer = train_tokenizer(story, TokenizerConfig("bpe", 300))
    assert isinstance(tokenizer, BPETokenizer)
    return tokenizer


@pytest.fixture(scope="package")
def lstm_run(story: str) -> Run:
    model = ModelConfig(family="lstm", embed_size=8, hidden_size=16, layers=1, context=16)
    return train_run(story, "story", TokenizerConfig("char"), model, TINY_TRAIN)


@pytest.fixture(scope="package")
def gpt_run(story: str) -> Run:
    model = ModelConfig(family="gpt", hidden_size=16, heads=2, layers=2, context=16)
    return train_run(story, "story", TokenizerConfig("char"), model, TINY_TRAIN)
