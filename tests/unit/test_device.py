"""The one device picker."""

from __future__ import annotations

import pytest
import torch

from lmviz.device import DEVICE_CHOICES, DeviceError, available_devices, pick_device


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
