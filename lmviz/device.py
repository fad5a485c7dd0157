"""The one place that picks a device: cuda -> mps -> cpu."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """A requested device is not available on this machine."""


def available_devices() -> list[str]:
    """Devices this machine can train on, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def pick_device(requested: str = "auto") -> torch.device:
    """Resolve "auto" to the best device; check that an explicit one exists."""
    if requested not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    have = available_devices()
    if requested == "auto":
        return torch.device(have[0])
    if requested not in have:
        raise DeviceError(f"device {requested!r} is not available here (found: {', '.join(have)})")
    return torch.device(requested)


_exact_lock = threading.Lock()
_exact_users = 0
_saved_tf32: tuple[bool, bool] = (False, True)


@contextmanager
def exact_float32() -> Iterator[None]:
    """Plain fp32 on CUDA while inside: TF32 off for matrix products and for cuDNN (its LSTM
    included), so traces and seeded samples give a GPU the CPU's numbers. The flags are
    process-wide: the first to enter saves them and the last to leave restores them (trainings
    in other threads may sample at the same time)."""
    global _exact_users, _saved_tf32
    with _exact_lock:
        if _exact_users == 0:
            _saved_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        _exact_users += 1
    try:
        yield
    finally:
        with _exact_lock:
            _exact_users -= 1
            if _exact_users == 0:
                torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = _saved_tf32
