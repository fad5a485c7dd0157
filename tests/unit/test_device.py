"""The one device picker."""

from __future__ import annotations

import pytest
import torch

from lmviz.device import DEVICE_CHOICES, DeviceError, available_devices, exact_float32, pick_device


def test_auto_picks_the_best_available_device() -> None:
    device = pick_device("auto")
    assert isinstance(device, torch.device)
    assert device.type in DEVICE_CHOICES and device.type != "auto"
    assert device.type == available_devices()[0]
    assert pick_device() == device


def test_cpu_always_works() -> None:
    assert available_devices()[-1] == "cpu"
    device = pick_device("cpu")
    assert device == torch.device("cpu")
    assert torch.zeros(2, device=device).sum().item() == 0.0


def test_unknown_device_raises() -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        pick_device("tpu")
    with pytest.raises(DeviceError):
        pick_device("CPU")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_raises() -> None:
    with pytest.raises(DeviceError, match="not available"):
        pick_device("cuda")


def test_exact_float32_turns_tf32_off_inside_and_restores_it() -> None:
    """The flags are process-wide: nested (or concurrent) users keep them off until the last
    one leaves, which restores what was there before."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        with exact_float32():
            with exact_float32():
                assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
            assert not torch.backends.cudnn.allow_tf32  # the outer user is still inside
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
