"""Post-training quantization behind one adapter, so the backend can change per device.

int8, CPU only, two torch.ao paths chosen per model:
- static: for plain stacks of Conv2d / Linear / ReLU / pooling (our CNN, MLP and logistic
  regression). Conv+ReLU and Linear+ReLU pairs are fused, activation ranges are calibrated
  on training examples, and weights and activations both stay int8 between layers. Measured
  here on the default CNN: 0.29x the float bytes and 0.11x the batch-256 latency; on a
  width-256 MLP 0.27x and 0.25x. (Per-tensor weight scales: per-channel ones cost bytes
  without moving accuracy on these models.)
- dynamic: Linear layers' weights int8, activations quantized on the fly, for everything
  else (the ViT's attention and layer norms have no static int8 kernels in eager mode; the
  text models). Embeddings at least `EMBEDDING_MIN_WIDTH` wide are stored int8 too, one
  scale per row (weight-only: a lookup needs no int8 arithmetic). On the tiny BERT (width
  64, depth 2, reviews) the word embeddings are about 70 % of the bytes: Linear layers
  alone left 0.82x the float bytes, embeddings too leave 0.30x, accuracy within half a
  point. Latency is another matter: its matrices are so small that quantizing activations
  on the fly costs about what int8 arithmetic saves (one sentence 1.1-1.5x slower, 256
  sentences 0.8-1.3x, on a busy 2-core machine); int8 embeddings alone (0.48x) run about
  as fast as float.
torchao's int8 configs were smaller but slower in eager mode on this CPU; it is the
candidate for GPUs. fp16 / bf16: the weights cast to half precision on the training device.
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


_STATIC_LAYERS = (nn.Conv2d, nn.Linear, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout)


def static_ready(model: nn.Module) -> bool:
    """True for a flat Sequential whose every layer has an int8 kernel."""
    return isinstance(model, nn.Sequential) and all(
        isinstance(m, _STATIC_LAYERS) for m in model.children())


def _static_int8(model: nn.Module, calibration: torch.Tensor) -> nn.Module:
    from torch.ao import quantization as tq

    names = [n for n, _ in model.named_children()]
    layers = dict(model.named_children())
    pairs = [[a, b] for a, b in zip(names, names[1:], strict=False)
             if isinstance(layers[a], (nn.Conv2d, nn.Linear)) and isinstance(layers[b], nn.ReLU)]
    if pairs:
        model = tq.fuse_modules(model, pairs)
    wrapped = nn.Sequential(tq.QuantStub(), model, tq.DeQuantStub()).eval()
    wrapped.qconfig = tq.QConfig(
        activation=tq.HistogramObserver.with_args(reduce_range=True),
        weight=tq.default_weight_observer)
    tq.prepare(wrapped, inplace=True)
    with torch.no_grad():
        for i in range(0, len(calibration), 512):
            wrapped(calibration[i:i + 512])
    return tq.convert(wrapped, inplace=True)


def quantize(model: nn.Module, mode: str, device: torch.device,
             calibration: torch.Tensor | None = None) -> tuple[nn.Module, torch.device]:
    """A quantized copy of `model` and the device it runs on. The original is untouched.

    `calibration`: training inputs that set int8 activation ranges (static int8); without
    them, or for models with layers static int8 can't run, int8 is dynamic.
    """
    model = copy.deepcopy(model).eval()
    if mode == "int8":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
            if calibration is not None and static_ready(model):
                return _static_int8(model.cpu(), calibration.cpu().float()), torch.device("cpu")
            from torch.ao.quantization import quantize_dynamic

            q = quantize_dynamic(model.cpu(), _dynamic_spec(model), dtype=torch.qint8)
        return q, torch.device("cpu")
    dtype = torch.float16 if mode == "fp16" else torch.bfloat16
    return model.to(device=device, dtype=dtype), device


# A row of int8 embedding keeps a float scale and zero point (8 bytes) beside its values: for
# the word-count logistic regression's one or two numbers per word that is more than float.
EMBEDDING_MIN_WIDTH = 16


def _wide_embeddings(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules()
            if isinstance(m, nn.Embedding) and m.embedding_dim >= EMBEDDING_MIN_WIDTH]


def _dynamic_spec(model: nn.Module) -> dict:
    from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig

    spec: dict = {nn.Linear: default_dynamic_qconfig}
    spec.update({name: float_qparams_weight_only_qconfig for name in _wide_embeddings(model)})
    return spec


CALIBRATION_EXAMPLES = 512  # training examples that set static int8's activation ranges


def as_shipped(model: nn.Module, mode: str, device: torch.device,
               X_train) -> tuple[nn.Module, torch.device]:
    """The quantized copy a run ships, made the way training made it: static int8 sets its
    activation ranges on the first training examples. Training, the Explain page's int8
    variant and an exported model's evaluate.py all rebuild it here."""
    calibration = torch.as_tensor(X_train[:CALIBRATION_EXAMPLES])
    return quantize(model, mode, device, calibration)


def method(model: nn.Module, mode: str, calibrated: bool) -> str:
    """How `quantize` treats this model, in words for the run card."""
    if mode != "int8":
        return f"weights cast to {mode}"
    if calibrated and static_ready(model):
        return "static int8 (weights and activations; ranges calibrated on training data)"
    linear = any(isinstance(m, nn.Linear) for m in model.modules())
    parts = (["word embeddings (one scale per word)"] if _wide_embeddings(model) else []) + (
        ["Linear layers' weights; activations quantized on the fly"] if linear else [])
    return f"dynamic int8 ({'; '.join(parts) or 'nothing to shrink'})"


def input_dtype(mode: str, kind: str = "") -> torch.dtype:
    """The dtype a quantized model's inputs take. Token ids (`kind` "text") stay float32:
    half precision holds whole numbers exactly only up to 2,048 (bf16: 256), and the model
    turns them back into integer ids itself."""
    if kind == "text":
        return torch.float32
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mode, torch.float32)


def int8_layers(model: nn.Module) -> int:
    """How many layers int8 can shrink (Linear, Conv2d, wide embeddings): 0 for the
    word-count logistic regression, whose one or two numbers per word int8 would not shrink."""
    return (sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules())
            + len(_wide_embeddings(model)))


def serialized_bytes(model: nn.Module) -> int:
    """Bytes of the model's saved weights (state dict), the same way for every mode."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
