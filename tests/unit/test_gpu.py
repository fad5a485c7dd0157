"""CUDA checks (marked gpu: tests/conftest.py skips them without CUDA): same numbers on every device."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch

from lmviz.corpora import load_corpus
from lmviz.models import ModelConfig
from lmviz.presets import View, configs
from lmviz.probes import trace_text
from lmviz.run import TrainConfig, load_run, save_run
from lmviz.sampling import SamplingConfig, generate
from lmviz.tokenizers import TokenizerConfig
from lmviz.training import make_model, make_optimizer, train_run

pytestmark = pytest.mark.gpu
TEXT = "The keeper climbed the stairs and lit the lamp."


@pytest.fixture(scope="module", autouse=True)
def tf32_on():
    """TF32 on for matrix products and cuDNN, the fastest a user may have set: the library must
    still trace and sample in plain fp32 (exact_float32), and leave the flags as they were."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    yield
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


@pytest.fixture(scope="module", params=["lstm", "gpt"])
def cuda_run(request):
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


def _syncs_while_training(steps: int) -> int:
    """Host synchronisations CUDA reports while a run of `steps` steps trains and logs once."""
    train = TrainConfig(steps=steps, batch_size=16, eval_every=steps, log_every=steps,
                        sample_tokens=0, device="cuda")
    model = ModelConfig(family="lstm", hidden_size=64, context=32)
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_run(TEXT * 40, "t", TokenizerConfig("char"), model, train)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def test_training_does_not_synchronise_every_step():
    _syncs_while_training(5)  # untimed warm-up: one-off syncs (cuDNN, allocator) happen here
    assert _syncs_while_training(20) == _syncs_while_training(80)  # per log point, not per step


@pytest.mark.parametrize("family", ["gpt", "lstm"])
def test_fused_adamw_and_bf16_on_cuda(family):
    config = ModelConfig(family=family, hidden_size=64, layers=2, context=32)
    model = make_model(config, 0, torch.device("cuda"))
    assert make_optimizer(model, TrainConfig(), torch.device("cuda")).defaults["fused"] is True
    train = TrainConfig(steps=40, batch_size=16, eval_every=20, sample_tokens=0, device="cuda",
                        precision="bf16")
    run = train_run(TEXT * 40, "t", TokenizerConfig("char"), config, train)
    assert run.outcome == "finished" and run.history[-1].train_loss < run.history[0].train_loss
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in run.model.parameters())


def test_the_gpu_sizes_train():
    """The Training page's GPU offer: a GPT of width 384, 6 layers, 8 heads, context 256."""
    tokenizer, model, train = configs(View(model="gpt", hidden_size=384, layers=6, heads=8,
                                           context=256, steps=20), device="cuda")
    run = train_run(load_corpus("story"), "story", tokenizer, model, train)
    assert run.outcome == "finished" and run.device == "cuda"
    assert run.model_config.context == 256 and run.parameters > 10_000_000


def test_dropout_on_cuda_draws_from_the_run_s_own_stream():
    """A GPT with dropout, trained in turns with another: its masks are its own (the weights
    differ from a solo run's only by the GPU's non-deterministic sums), and the process's CUDA
    generator is as it was."""
    from dataclasses import replace

    from lmviz.training import Training

    config = ModelConfig(family="gpt", hidden_size=64, layers=2, context=32, dropout=0.3)
    train = TrainConfig(steps=40, batch_size=16, eval_every=20, log_every=4, sample_tokens=0,
                        device="cuda")
    text = TEXT * 40
    before = torch.cuda.get_rng_state()
    alone = train_run(text, "t", TokenizerConfig("char"), config, train)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    beside = Training(text, "t", TokenizerConfig("char"), config, train)
    other = Training(text, "t", TokenizerConfig("char"), config, replace(train, seed=5))
    for _ in zip(beside, other, strict=True):
        torch.rand(3, device="cuda")
    for name, weight in alone.model.state_dict().items():
        torch.testing.assert_close(beside.run.model.state_dict()[name], weight, atol=1e-4, rtol=1e-4)


def _trained(family: str, cuda_graphs: bool, seed: int = 0):
    from lmviz.training import Training

    config = ModelConfig(family=family, hidden_size=64, layers=2, context=32)
    train = TrainConfig(steps=40, batch_size=16, eval_every=20, log_every=4, sample_tokens=0,
                        device="cuda", seed=seed)
    return Training(TEXT * 40, "t", TokenizerConfig("char"), config, train, cuda_graphs=cuda_graphs)


def _finish(training):
    for _ in training:
        pass
    return training


def _assert_same_training(one, other) -> None:
    """The same batches and learning rates: the losses and weights of two runs agree to the
    GPU's non-deterministic sums."""
    losses = [[e.train_loss for e in t.run.history] for t in (one, other)]
    np.testing.assert_allclose(*losses, rtol=1e-4)
    for name, weight in other.run.model.state_dict().items():
        torch.testing.assert_close(one.run.model.state_dict()[name], weight, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("family", ["lstm", "gpt"])
def test_graphed_steps_train_as_eager_steps_do(family):
    """Steps after the first few replay a CUDA graph: each replay draws its own batch and reads
    its step's learning rate (the warm-up schedule changes it every step)."""
    graphed, eager = _finish(_trained(family, True)), _finish(_trained(family, False))
    assert graphed.graphed is True and graphed.graph_failure is None
    assert eager.graphed is None
    _assert_same_training(graphed, eager)
    assert graphed.run.history[-1].train_loss < graphed.run.history[0].train_loss


def test_graphed_trainings_side_by_side_in_threads():
    """Two trainings in threads, as the app runs them: one captures while the other replays."""
    alone = _finish(_trained("lstm", True))
    pair = [_trained("lstm", True), _trained("gpt", True, seed=3)]
    errors: list[BaseException] = []

    def train(training) -> None:
        try:
            _finish(training)
        except BaseException as err:  # reported below, not lost in the thread
            errors.append(err)

    threads = [threading.Thread(target=train, args=(t,)) for t in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and all(t.run is not None and t.graphed for t in pair)
    _assert_same_training(pair[0], alone)


def test_the_side_and_capture_streams_are_made_once():
    """Every training warms up on one side stream, never the capture stream: a new stream per
    training would come round to it (PyTorch's pool holds 32) and keep a cuBLAS workspace."""
    from lmviz.graphed import streams

    side, capture = streams(torch.device("cuda"))
    assert streams(torch.device("cuda", torch.cuda.current_device())) == (side, capture)
    assert side != capture
    assert side not in [torch.cuda.Stream() for _ in range(64)]


def test_graphed_trainings_one_after_another_hold_no_more_memory():
    """Each training in a thread of its own, as the app runs them: the GPU memory held once they
    are done does not grow with their number (a stream per training kept ~64 MiB of cuBLAS
    workspace each, for good)."""
    def in_a_thread() -> None:
        thread = threading.Thread(target=lambda: _finish(_trained("lstm", True)))
        thread.start()
        thread.join(timeout=120)

    def held() -> int:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        return torch.cuda.memory_allocated()

    in_a_thread()
    in_a_thread()
    before = held()
    for _ in range(4):
        in_a_thread()
    assert held() - before < 16 * 2**20


def test_a_capture_that_syncs_fails_and_the_training_goes_on_eagerly(monkeypatch):
    """A real failed capture (a host sync inside it): the training finishes eagerly with the same
    steps, back on its own stream, and the next training captures."""
    clip = torch.nn.utils.clip_grad_norm_

    def syncing_clip(*args, **kwargs):
        norm = clip(*args, **kwargs)
        if torch.cuda.is_current_stream_capturing():
            norm.item()  # a host sync: not allowed while capturing
        return norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", syncing_clip)
    fell_back = _finish(_trained("lstm", True))
    monkeypatch.undo()
    assert fell_back.graphed is False and fell_back.graph_failure
    assert fell_back.run.outcome == "finished"
    assert torch.cuda.current_stream() == torch.cuda.default_stream()
    _assert_same_training(fell_back, _finish(_trained("lstm", False)))
    assert _finish(_trained("lstm", True)).graphed is True
