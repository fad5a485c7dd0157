"""The one place that picks a device: cuda -> mps -> cpu."""

from __future__ import annotations

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
