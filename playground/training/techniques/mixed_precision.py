"""Mixed precision on a GPU: the forward pass in 16-bit floats, the weights kept in 32.

Tensor cores run fp16 / bf16 matrix maths several times faster than fp32; fp16's narrow
range needs the loss scaled up before backward (GradScaler) so small gradients don't
vanish, bf16 has fp32's range and needs no scaling. The CPU gains nothing from it here,
so without a GPU the switch is refused with the reason.
"""
from __future__ import annotations

import torch

from playground.common import device as devices
from playground.common.content import Lesson, Term
from playground.training.capabilities import PER_EXAMPLE_GRADIENTS, Conflict
from playground.training.techniques.base import Param, Technique, register


@register
class MixedPrecision(Technique):
    name = "mixed_precision"
    title = "Mixed precision (GPU)"
    description = ("Does most of the training arithmetic with 16-bit numbers instead of 32-bit "
                   "on a GPU, which is faster and uses less memory; the weights themselves stay "
                   "32-bit, so accuracy usually does not move. Needs a GPU.")
    order = 70  # when its hooks run
    conflicts = (Conflict(PER_EXAMPLE_GRADIENTS,
                          "that clips each example's gradient in float32, which has no place "
                          "for 16-bit loss scaling"),)
    params = (Param("dtype", "bf16", "bf16 keeps float32's range; fp16 needs loss scaling.",
                    choices=("bf16", "fp16"), flag="--mixed-precision", term="half_precision"),)

    @classmethod
    def unavailable(cls) -> str | None:
        if not torch.cuda.is_available():
            return "Needs a GPU; this machine trains on its CPU."
        return None

    def check(self, config) -> list[str]:
        try:
            device = devices.resolve(config.device)
        except RuntimeError:
            return []  # the device field reports its own problem
        if device.type != "cuda":
            return ["mixed_precision: needs a GPU (CUDA) and this run would train on the CPU, "
                    "where 16-bit arithmetic is not faster; switch it off"]
        if self.s.dtype == "bf16" and not torch.cuda.is_bf16_supported():
            return ["mixed_precision.dtype: this GPU has no bf16 support; choose fp16"]
        return []

    def on_optimizer(self, ctx) -> None:
        ctx.replace("amp_dtype", torch.bfloat16 if self.s.dtype == "bf16" else torch.float16,
                    by=self)
        if self.s.dtype == "fp16":
            ctx.replace("scaler", torch.amp.GradScaler(ctx.device.type), by=self)

    def finalize(self, ctx, metrics) -> None:
        metrics["mixed_precision"] = {
            "dtype": self.s.dtype, "device": str(ctx.device),
            "loss_scale": float(ctx.scaler.get_scale()) if ctx.scaler is not None else None,
        }

    terms = (Term("mixed_precision", "Mixed precision",
                  "Training with 16-bit numbers for most of the arithmetic while the weights "
                  "stay 32-bit: faster and lighter on a GPU, usually with the same accuracy.",
                  "fp16 has a narrow range, so the loss is scaled up before the gradients are "
                  "computed (loss scaling) to keep small values from vanishing; bf16 keeps "
                  "32-bit's range and needs no scaling."),)
    lesson = Lesson(
        "Does most of the training arithmetic on a GPU with 16-bit numbers instead of 32-bit "
        "ones, while the weights stay 32-bit.",
        "Faster training and less GPU memory, against a little numerical care (fp16 needs "
        "its loss scaled); accuracy usually does not move, and a CPU gains nothing.",
        "Any team training models on GPUs at scale: it is the default way large models are "
        "trained, because it cuts the compute bill.",
        {"dataset": "digits", "model": "cnn", "epochs": 10, "mixed_precision": "bf16"},
        "Train it again without mixed precision and compare the training times.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        mp = run.metrics.get("mixed_precision")
        if not mp:
            return []
        return [f"It trained in {mp['dtype']} mixed precision on {mp['device']}: 16-bit "
                "arithmetic with 32-bit weights, which mostly buys speed."]
