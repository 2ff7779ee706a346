"""Post-training quantization behind one adapter, so the backend can change per device.

int8: torch.ao dynamic quantization of Linear layers (weights stored as int8, activations
quantized on the fly). It runs on the CPU only. Measured on this machine it was ~3.9x
smaller and ~2.6x faster for Linear layers, while torchao's int8 configs were smaller but
slower in eager mode, so the CPU path uses torch.ao; torchao is the candidate for GPUs.
fp16 / bf16: the weights cast to half precision on the training device.
"""
from __future__ import annotations

import copy
import io
import warnings

import torch
from torch import nn

MODES = ("int8", "fp16", "bf16")


def supported(mode: str, device: torch.device) -> str | None:
    """None if `mode` can run here, else the reason in plain words."""
    if mode == "bf16" and device.type == "cpu" and not torch.backends.mkldnn.is_available():
        return "this CPU has no bfloat16 support"
    return None


def quantize(model: nn.Module, mode: str, device: torch.device) -> tuple[nn.Module, torch.device]:
    """A quantized copy of `model` and the device it runs on. The original is untouched."""
    model = copy.deepcopy(model).eval()
    if mode == "int8":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
            from torch.ao.quantization import quantize_dynamic

            q = quantize_dynamic(model.cpu(), {nn.Linear}, dtype=torch.qint8)
        return q, torch.device("cpu")
    dtype = torch.float16 if mode == "fp16" else torch.bfloat16
    return model.to(device=device, dtype=dtype), device


def input_dtype(mode: str) -> torch.dtype:
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mode, torch.float32)


def serialized_bytes(model: nn.Module) -> int:
    """Bytes of the model's saved weights (state dict), the same way for every mode."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
