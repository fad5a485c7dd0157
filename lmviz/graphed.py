"""Training steps on CUDA replayed as one CUDA graph.

A small model on a GPU waits on the CPU: a step launches a few hundred kernels (forward, backward,
clipping, AdamW), and on an H100 launching them takes longer than running them (about 4-9 ms a
step, whatever the width). A CUDA graph records the step's kernels once and launches them all in
one call, so a step costs what the GPU spends on it.

The first WARMUP_STEPS steps run eagerly, as real steps of the training, on a side stream (cuBLAS
and cuDNN handles, AdamW's state and the autograd engine are set up there, as PyTorch's notes on
graphs ask); the next step is captured, and every later one replays it. A replay reads its batch
and its learning rate from tensors refilled before each step, so the batches are drawn from the
run's generator exactly as an eager step draws them.

Trainings run in threads side by side. Only one capture may be under way in a process, hence
CAPTURE_LOCK; and no other training's work may land on the stream being captured, so the side
stream and the capture stream are made once per device (`streams`), from PyTorch's two stream
pools (a new stream per training would come round to the capture stream every 32 trainings, and
keep a cuBLAS workspace of its own, never freed). Where a capture fails, the training goes on
eagerly (slower, the same steps), back on the stream it came from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

WARMUP_STEPS = 3
CAPTURE_LOCK = threading.Lock()
StepResult = tuple[torch.Tensor, torch.Tensor]  # the step's loss and gradient norm, on the device
_streams: dict[int, tuple[torch.cuda.Stream, torch.cuda.Stream]] = {}


def streams(device: torch.device) -> tuple[torch.cuda.Stream, torch.cuda.Stream]:
    """The device's side stream (eager warm-up steps) and capture stream, the same for every
    training: the side stream from the high-priority pool, so it is never the capture stream."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    with CAPTURE_LOCK:
        if index not in _streams:
            _streams[index] = (torch.cuda.Stream(index, priority=-1), torch.cuda.Stream(index))
        return _streams[index]


class GraphedSteps:
    """Call with each step's learning rate: `draw(starts)` fills the batch's `batch` start
    positions, then `step(starts)` runs, eagerly for the first WARMUP_STEPS steps, then from a
    CUDA graph. `optimizer` must be fused AdamW or Adam: its groups' learning rates become one
    device tensor that a replay reads. `captured` says whether the graph was recorded."""

    def __init__(self, step: Callable[[torch.Tensor], StepResult],
                 draw: Callable[[torch.Tensor], object], batch: int,
                 optimizer: torch.optim.Optimizer, device: torch.device) -> None:
        self.step, self.draw, self.optimizer = step, draw, optimizer
        self.lr = torch.zeros((), dtype=torch.float32, device=device)
        for group in optimizer.param_groups:  # fused AdamW reads a tensor lr on the device
            group["lr"] = self.lr
        self.starts = torch.zeros(batch, dtype=torch.long, device=device)  # a replay reads it
        self.side, self.capture_stream = streams(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.result: torch.Tensor | None = None  # (loss, gradient norm), written by each replay
        self.eager_steps = 0
        self.failed: str | None = None  # why the capture failed, if it did

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self, lr: float) -> StepResult:
        self.lr.fill_(lr)
        self.draw(self.starts)
        if self.graph is None and self.failed is None and self.eager_steps >= WARMUP_STEPS:
            self._capture()
        if self.graph is None:
            return self._eager()
        self.graph.replay()
        assert self.result is not None
        kept = self.result.clone()  # the next replay overwrites result
        return kept[0], kept[1]

    def _eager(self) -> StepResult:
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            loss, norm = self.step(self.starts)
        torch.cuda.current_stream().wait_stream(self.side)
        self.eager_steps += 1
        return loss, norm

    def _set_capturable(self, capturable: bool) -> None:
        """AdamW refuses a capture unless capturable, and warns at eager steps if it is; the
        fused kernel runs the same either way."""
        for group in self.optimizer.param_groups:
            group["capturable"] = capturable

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        self._set_capturable(True)
        # the outer stream context puts this thread back on its stream even when ending a broken
        # capture raises (torch.cuda.graph leaves the capture stream only after ending it)
        try:
            with (torch.cuda.stream(torch.cuda.current_stream()), CAPTURE_LOCK,
                  torch.cuda.graph(graph, stream=self.capture_stream, capture_error_mode="thread_local")):
                self.result = torch.stack(self.step(self.starts))
        except RuntimeError as err:  # e.g. an op that syncs or cannot be captured: go on eagerly
            self.failed = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.result = None
            self._set_capturable(False)
            return
        self.graph = graph
