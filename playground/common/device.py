"""Where runs train: a CUDA GPU when there is one, else the CPU."""
from __future__ import annotations

import os
from functools import lru_cache

import torch


def resolve(choice: str = "auto") -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: CUDA was asked for but this machine has no usable GPU; choose auto or cpu"
        )
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@lru_cache(maxsize=None)
def describe(kind: str = "auto") -> str:
    """Plain name of the device a run with this choice would use."""
    device = resolve(kind) if kind != "cuda" or torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return f"CPU ({os.cpu_count()} cores)"
