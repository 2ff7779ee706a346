"""Shrink it for a phone: one network, then quantization, pruning and distillation compete
to make it smaller."""
from __future__ import annotations

from playground.common.formatting import human_bytes, percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    bars,
    change,
    deployed,
    luck_of,
    luck_said,
    points,
    table,
)
from playground.runs.store import Run
from playground.training.techniques.pruning import SPARSITY

SHRINK_BASE = dict(dataset="digits", model="mlp", width=128, depth=2, epochs=10, lr=0.01)
SMALL = dict(SHRINK_BASE, width=16)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    big_size, big_acc = deployed(runs["original"])
    rows, lines = [], []
    for step in story.steps:
        size, accuracy = deployed(runs[step.role])
        rows.append({"role": step.role, "run": step.label, "size": size, "accuracy": accuracy,
                     "share of original size": size / big_size})
    lines.append(f"The original network stores {human_bytes(big_size, 'KB')} of weights and reads "
                 f"{percent(big_acc)} of the test digits correctly.")
    q = runs["int8"].metrics["quantized"]
    if "size_bytes" in q:
        lines.append(
            f"Quantization to 8-bit integers: {human_bytes(q['size_bytes'], 'KB')} "
            f"({q['size_bytes'] / big_size:.0%} of the size), accuracy {percent(q['accuracy'])} "
            f"({change(points(big_acc, q['accuracy']))}); "
            f"{q['changed_predictions']} of {runs['int8'].metrics['test_examples']} answers "
            "changed. Each weight is stored in 1 byte instead of 4.")
    else:
        lines.append(f"Quantization was skipped on this machine: {q.get('skipped')}.")
    m = runs["pruned"].metrics
    size, accuracy = deployed(runs["pruned"])
    lines.append(
        f"Pruning set {SPARSITY.value(m):.0%} of the weights to exactly zero, and the model "
        f"still reads {percent(accuracy)} ({change(points(big_acc, accuracy))}"
        f"{luck_said(luck_of(runs, 'original', 'pruned'))}). Stored in a "
        f"compressed format only the remaining {human_bytes(size, 'KB')} would need space; the "
        "file here keeps the zeros, so the saving needs a sparse format or a compressor to "
        "show up on disk.")
    student, alone = runs["student"].metrics, runs["alone"]
    s_size, s_acc = deployed(runs["student"])
    lines.append(
        "A student network with 16 instead of 128 neurons per layer is "
        f"{human_bytes(s_size, 'KB')} "
        f"({s_size / big_size:.0%} of the size). Learning from the original as its teacher "
        f"it reads {percent(s_acc)}; the same small network trained alone reads "
        f"{percent(acc(alone))}, so the teacher "
        f"{change(points(acc(alone), s_acc), 'added', 'cost')}"
        f"{luck_said(luck_of(runs, 'alone', 'student'))}"
        f". The student agrees with its teacher on {student['teacher_agreement']:.0%} of "
        "the test digits.")
    best = min((r for r in rows if r["accuracy"] >= big_acc - 0.01 and r["run"] !=
                story.step("original").label), key=lambda r: r["size"], default=None)
    # The 8-bit copy's answers are not the run's kept test answers: its luck is not measured.
    kept = luck_of(runs, "original", best["role"]) if best and best["role"] != "int8" else None
    headline = (f"{best['run']} kept accuracy within a point of the original at "
                f"{best['share of original size']:.0%} of its size"
                f"{luck_said(kept)}." if best else
                "Every way of shrinking cost more than a point of accuracy this time.")
    lines.append("On a phone, size is download and memory, and 8-bit arithmetic is also "
                 "faster; the price, if any, is a few answers that change.")
    chart = bars([{"run": r["run"], "kilobytes": r["size"] / 1024,
                   "accuracy": percent(r["accuracy"])} for r in rows], "kilobytes",
                 "size to ship (KB)", fmt=",.1f", note="accuracy")
    shown = table([{"run": r["run"], "size": human_bytes(r["size"], "KB"),
                    "accuracy": percent(r["accuracy"]),
                    "share of original size": f"{r['share of original size']:.0%}"}
                   for r in rows])
    return Walkthrough(headline, lines, shown, chart)


STORY = register(Story(
    "shrink", "Shrink it for a phone",
    "How small can my model get before it gets worse?",
    "One network learns to read digits, then three ways of making it smaller compete: "
    "quantization (store each weight in 8 bits instead of 32), pruning (set most weights "
    "to zero) and distillation (train a much smaller student to copy it).",
    (Step("original", "Original network", SHRINK_BASE),
     Step("int8", "Quantized to 8 bits", dict(SHRINK_BASE, quantize="int8")),
     Step("pruned", "Pruned (80% zeros)", dict(SHRINK_BASE, prune=0.8)),
     Step("alone", "Small network alone", SMALL),
     Step("student", "Small student of the original", dict(SMALL, distill_weight=0.7),
          teacher="original")),
    explain, order=20))
