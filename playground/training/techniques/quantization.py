"""Quantization: store the trained weights in fewer bits; measure what that bought and cost."""
from __future__ import annotations

import torch

from playground.training import quantize as Q
from playground.training.measure import measure_latency_ms
from playground.training.techniques.base import Param, Technique, register


@register
class Quantization(Technique):
    name = "quantization"
    title = "Quantization"
    description = ("After training, stores the weights with fewer bits: int8 (whole numbers "
                   "from -128 to 127 instead of 32-bit decimals) or half precision. The model "
                   "gets smaller and often faster; the run card shows whether accuracy moved.")
    params = (Param("mode", "int8", "int8: 8-bit integers (CPU). fp16 / bf16: half precision.",
                    choices=Q.MODES, flag="--quantize"),)
    measures = ("size", "latency", "accuracy", "changed predictions")

    def finalize(self, ctx, metrics) -> None:
        reason = Q.supported(self.mode, ctx.device)
        if reason:
            metrics["quantized"] = {"mode": self.mode, "skipped": reason}
            return
        qmodel, qdevice = Q.as_shipped(ctx.model, self.mode, ctx.device, ctx.X)
        X = torch.from_numpy(ctx.data.X_test)
        batch = X[:256].repeat((256 // len(X[:256]) + 1,) + (1,) * (X.dim() - 1))[:256]
        with torch.no_grad():
            qprobs = torch.cat([
                qmodel(X[i:i + 512].to(qdevice, Q.input_dtype(self.mode))).float().softmax(1)
                for i in range(0, len(X), 512)]).cpu()
        qpred = qprobs.argmax(1).numpy()
        metrics["latency_ms_batch256"] = measure_latency_ms(ctx.model, batch.to(ctx.device))
        metrics["quantized"] = {
            "mode": self.mode,
            "method": Q.method(ctx.model, self.mode, calibrated=True),
            "device": str(qdevice),
            "size_bytes": Q.serialized_bytes(qmodel),
            "float_size_bytes": Q.serialized_bytes(ctx.model),
            "latency_ms": measure_latency_ms(qmodel, X[:1].to(qdevice, Q.input_dtype(self.mode))),
            "latency_ms_batch256": measure_latency_ms(
                qmodel, batch.to(qdevice, Q.input_dtype(self.mode))),
            "accuracy": float((qpred == ctx.data.y_test).mean()),
            "changed_predictions": int((qpred != ctx.y_pred).sum()),
        }
