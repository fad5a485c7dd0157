"""CUDA checks (marked gpu; skipped without CUDA): same numbers on every device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmviz.corpora import load_corpus
from lmviz.models import ModelConfig
from lmviz.probes import trace_text
from lmviz.run import TrainConfig, load_run, save_run
from lmviz.sampling import SamplingConfig, generate
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import train_run

pytestmark = pytest.mark.gpu
TEXT = "The keeper climbed the stairs and lit the lamp."


@pytest.fixture(scope="module", params=["lstm", "gpt"])
def cuda_run(request):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = ModelConfig(family=request.param, hidden_size=64, layers=2, context=64)
    train = TrainConfig(steps=60, batch_size=16, eval_every=30, sample_tokens=0, device="cuda")
    return train_run(load_corpus("story"), "story", TokenizerConfig("char"), model, train)


def test_trained_on_cuda_and_loads_on_cpu(cuda_run, tmp_path):
    assert cuda_run.device == "cuda"
    assert all(p.device.type == "cpu" for p in cuda_run.model.parameters())
    loaded = load_run(save_run(cuda_run, tmp_path / "run"))
    for name, tensor in cuda_run.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name


def test_trace_on_cuda_equals_cpu(cuda_run):
    cpu = trace_text(cuda_run, TEXT, torch.device("cpu")).trace
    gpu = trace_text(cuda_run, TEXT, torch.device("cuda")).trace
    np.testing.assert_allclose(gpu.logits, cpu.logits, atol=1e-4)
    for cpu_layer, gpu_layer in zip(cpu.layers, gpu.layers, strict=True):
        for name in cpu_layer:
            np.testing.assert_allclose(gpu_layer[name], cpu_layer[name], atol=1e-4)
    if cpu.attention is not None:
        np.testing.assert_allclose(gpu.attention, cpu.attention, atol=1e-4)


def test_seeded_sample_same_text_on_cpu_and_cuda(cuda_run):
    config = SamplingConfig(temperature=0.9, top_k=20)
    on_cpu = generate(cuda_run.model, cuda_run.tokenizer, "The ", config, 40, seed=7)
    gpu_model = cuda_run.model.__class__(cuda_run.model_config).cuda().eval()
    gpu_model.load_state_dict(cuda_run.model.state_dict())
    on_gpu = generate(gpu_model, cuda_run.tokenizer, "The ", config, 40, seed=7)
    assert on_gpu.text == on_cpu.text
