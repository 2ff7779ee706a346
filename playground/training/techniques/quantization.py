"""Quantization: store the trained weights in fewer bits; measure what that bought and cost."""
from __future__ import annotations

import torch

from playground.common.content import Lesson, Section, Term
from playground.common.formatting import human_bytes, percent
from playground.common.metric_registry import LOWER, Metric
from playground.training import quantize as Q
from playground.training.capabilities import QUANTIZED_COPY
from playground.training.measure import measure_latency_ms
from playground.training.techniques.base import Param, PlainChoice, Technique, register

# The quantized copy's numbers: what ships (results/shipped.py). None when it was skipped.
QUANTIZED_ACCURACY = Metric("quantized_accuracy", "Accuracy after quantizing", fmt=percent,
                            table=False, read=lambda m: m["quantized"]["accuracy"])
QUANTIZED_SIZE = Metric("quantized_size_bytes", "Weight size after quantizing", better=LOWER,
                        unit="bytes", fmt=human_bytes, table=False,
                        read=lambda m: m["quantized"]["size_bytes"])
QUANTIZED_LATENCY = Metric("quantized_latency_ms", "Latency after quantizing", better=LOWER,
                           unit="ms", fmt=".2f", table=False,
                           read=lambda m: m["quantized"]["latency_ms"])


@register
class Quantization(Technique):
    name = "quantization"
    title = "Quantization"
    description = ("After training, stores the weights with fewer bits: int8 (whole numbers "
                   "from -128 to 127 instead of 32-bit decimals) or half precision. The model "
                   "gets smaller and often faster; the run card shows whether accuracy moved.")
    order = 90  # when its hooks run
    after_training_only = True  # a copy after training: its float self is the baseline
    provides = (QUANTIZED_COPY,)
    metrics = (QUANTIZED_ACCURACY, QUANTIZED_SIZE, QUANTIZED_LATENCY)
    params = (Param("mode", "int8", "Whole numbers of 8 bits (a quarter of the size; on the "
                    "processor) or half-precision decimals (half the size).",
                    choices=Q.MODES, flag="--quantize", term="int8",
                    sweep="off, int8, fp16", label="Stored as",
                    words=(("int8", "8-bit whole numbers (int8)"),
                           ("fp16", "half-precision decimals (fp16)"),
                           ("bf16", "half-precision decimals, wider range (bf16)"))),)
    plain = PlainChoice(
        "Make it smaller and faster", "How small?",
        (("half the size", {"mode": "fp16"}), ("a quarter of the size", {"mode": "int8"})),
        cost="A smaller copy may get a few answers wrong that the full model gets right.",
        default=1, rank=20)

    def finalize(self, ctx, metrics) -> None:
        reason = Q.supported(self.s.mode, ctx.device)
        if not reason and self.s.mode == "int8" and not Q.int8_layers(ctx.model):
            reason = ("this model has no layers of neurons for int8 to shrink, and its weights "
                      "are only one or two numbers per word: 8-bit storage keeps a scale per "
                      "word that costs more than it saves; half precision halves them")
        if reason:
            metrics["quantized"] = {"mode": self.s.mode, "skipped": reason}
            return
        qmodel, qdevice = Q.as_shipped(ctx.model, self.s.mode, ctx.device, ctx.X)
        X = torch.from_numpy(ctx.data.X_test)
        dtype = Q.input_dtype(self.s.mode, ctx.data.info.kind)
        batch = X[:256].repeat((256 // len(X[:256]) + 1,) + (1,) * (X.dim() - 1))[:256]
        with torch.no_grad():
            qprobs = torch.cat([
                qmodel(X[i:i + 512].to(qdevice, dtype)).float().softmax(1)
                for i in range(0, len(X), 512)]).cpu()
        qpred = qprobs.argmax(1).numpy()
        metrics["latency_ms_batch256"] = measure_latency_ms(ctx.model, batch.to(ctx.device))
        metrics["quantized"] = {
            "mode": self.s.mode,
            "method": Q.method(ctx.model, self.s.mode, calibrated=True),
            "device": str(qdevice),
            "size_bytes": Q.serialized_bytes(qmodel),
            "float_size_bytes": Q.serialized_bytes(ctx.model),
            "latency_ms": measure_latency_ms(qmodel, X[:1].to(qdevice, dtype)),
            "latency_ms_batch256": measure_latency_ms(
                qmodel, batch.to(qdevice, dtype)),
            "accuracy": float((qpred == ctx.data.y_test).mean()),
            "changed_predictions": int((qpred != ctx.y_pred).sum()),
        }

    terms = (
        Term("quantization", "Quantization",
             "Storing a trained model's numbers with fewer bits, e.g. 8-bit whole numbers "
             "instead of 32-bit decimals: smaller, often faster, sometimes a little less "
             "accurate.",
             "int8 keeps 256 levels per weight (about 4× smaller than float32); half precision "
             "(fp16 / bf16) keeps 16 bits. The run card shows size, speed and accuracy before "
             "and after, and how many predictions changed."),
        Term("int8", "int8",
             "Whole numbers from -128 to 127: one byte per number instead of four."),
        Term("half_precision", "Half precision (fp16, bf16)",
             "16-bit decimal numbers: half the size of the usual 32-bit ones; fast on GPUs."),
    )
    lesson = Lesson(
        "Stores the trained model's numbers in 8-bit whole numbers (or 16-bit decimals) "
        "instead of 32-bit decimals.",
        "About 4× smaller and often faster, against a little accuracy: the run card counts "
        "the predictions that changed.",
        "Shipping a model inside a mobile app, or serving millions of requests, where a "
        "smaller model cuts download size and server bills.",
        {"dataset": "digits", "model": "cnn", "epochs": 8, "quantize": "int8"},
        "The run card shows size, speed and accuracy before and after.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        q = m.get("quantized")
        if not q:
            return []
        if "skipped" in q:
            return [f"Quantization to {q['mode']} was skipped: {q['skipped']}."]
        ratio = q["size_bytes"] / max(1, q["float_size_bytes"])
        speed = m["latency_ms"] / max(1e-9, q["latency_ms"])
        faster = (f"{speed:.1f}× faster" if speed >= 1.1 else
                  f"{1 / speed:.1f}× slower" if speed <= 0.9 else "about as fast")
        moved = q["accuracy"] - m["accuracy"]
        acc = ("accuracy stayed at " + percent(q["accuracy"]) if abs(moved) < 0.005 else
               f"accuracy went from {percent(m['accuracy'])} to {percent(q['accuracy'])}")
        return [f"Stored as {q['mode']}, the model shrank from "
                f"{human_bytes(q['float_size_bytes'], 'KB')} to "
                f"{human_bytes(q['size_bytes'], 'KB')} ({ratio:.0%} of its size) and predicts "
                f"one example {faster} ({q['latency_ms']:.3f} ms vs {m['latency_ms']:.3f} ms); "
                f"{acc} ({q['changed_predictions']} of {m['test_examples']:,} test predictions "
                "changed)."]

    @classmethod
    def result(cls, run):
        m = run.metrics
        q = m.get("quantized")
        if not q:
            return None
        if "skipped" in q:
            return Section(warning=f"Quantization to {q['mode']} was skipped: {q['skipped']}.")
        ratio = q["size_bytes"] / max(1, q["float_size_bytes"])
        rows = ("saved weights", "latency, one example", "latency, 256 examples", "accuracy")
        float_col = (human_bytes(q["float_size_bytes"]), f"{m['latency_ms']:.3f} ms",
                     f"{m.get('latency_ms_batch256', 0):.2f} ms", percent(m["accuracy"]))
        q_col = (human_bytes(q["size_bytes"]), f"{q['latency_ms']:.3f} ms",
                 f"{q['latency_ms_batch256']:.2f} ms", percent(q["accuracy"]))
        return Section(
            lines=(f"**Quantization ({q['mode']})**: {ratio:.0%} of the original size; "
                   f"{q['changed_predictions']} of {m['test_examples']} test predictions "
                   "changed.",),
            table={"original (float32)": dict(zip(rows, float_col, strict=True)),
                   f"quantized ({q['mode']}, {q['device']})": dict(zip(rows, q_col,
                                                                       strict=True))},
            caption=f"How: {q['method']}." if q.get("method") else "")
