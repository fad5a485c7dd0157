"""Training steps on CUDA replayed as one CUDA graph.

A small model on a GPU waits on the CPU: a step launches a few hundred kernels (forward, backward,
clipping, AdamW), and on an H100 launching them takes longer than running them (about 5-7 ms a
step, whatever the width). A CUDA graph records the step's kernels once and launches them all in
one call, so a step costs what the GPU spends on it.

The first WARMUP_STEPS steps run eagerly, as real steps of the training, on a side stream (cuBLAS
and cuDNN handles, AdamW's state and the autograd engine are set up there, as PyTorch's notes on
graphs ask); the next step is captured, and every later one replays it. A replay reads its batch
and its learning rate from tensors refilled before each step, so the batches are drawn from the
run's generator exactly as an eager step draws them. Only one capture may be under way in a
process (trainings run in threads side by side), hence CAPTURE_LOCK. Where a capture fails, the
training goes on eagerly: slower, the same steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

WARMUP_STEPS = 3
CAPTURE_LOCK = threading.Lock()

StepResult = tuple[torch.Tensor, torch.Tensor]  # the step's loss and gradient norm, on the device


class GraphedSteps:
    """Call with each step's learning rate: `draw(starts)` fills the batch's `batch` start
    positions, then `step(starts)` runs, eagerly for the first WARMUP_STEPS steps, then from a
    CUDA graph. `optimizer` must be fused AdamW or Adam: its groups' learning rates become one
    device tensor that a replay reads. `captured` says whether the graph was recorded."""

    def __init__(self, step: Callable[[torch.Tensor], StepResult],
                 draw: Callable[[torch.Tensor], object], batch: int,
                 optimizer: torch.optim.Optimizer, device: torch.device) -> None:
        self.step, self.draw = step, draw
        self.lr = torch.zeros((), dtype=torch.float32, device=device)
        for group in optimizer.param_groups:
            group["lr"], group["capturable"] = self.lr, True
        self.starts = torch.zeros(batch, dtype=torch.long, device=device)  # a replay reads it
        self.side = torch.cuda.Stream(device)
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

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        try:
            with CAPTURE_LOCK, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self.result = torch.stack(self.step(self.starts))
        except RuntimeError as err:  # a kernel that cannot be captured: go on eagerly
            self.failed = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.result = None
            return
        self.graph = graph
