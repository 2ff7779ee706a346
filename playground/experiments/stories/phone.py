"""A smaller model for a phone: a tiny BERT on the review sentences, its 8-bit copy, and a
bag-of-words student that learnt from it (with the same student alone beside it); size,
time to answer one sentence, and accuracy."""
from __future__ import annotations

from playground.common.formatting import human_bytes, percent
from playground.data.views import run_data
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.order import BERT, COUNTS
from playground.experiments.stories.prose import (
    acc,
    bars,
    change,
    luck_of,
    luck_said,
    points,
    table,
)
from playground.runs.store import Run
from playground.training.techniques.quantization import (
    QUANTIZED_ACCURACY,
    QUANTIZED_LATENCY,
    QUANTIZED_SIZE,
)

# The tiny BERT is quantized after it trains (its float self is what the student learns
# from): one BERT run gives both the float and the 8-bit model.
TEACHER = dict(BERT, quantize="int8")
STUDENT = dict(COUNTS, distill_temperature=4.0, distill_weight=0.7)


def _word_table_bytes(run: Run) -> int:
    """Bytes of the BERT's word table as trained (one 32-bit vector per word piece): most of a
    BERT this small, and most of what its 8-bit copy saves."""
    heads = 4  # models/text.py: the width is rounded down to a multiple of its 4 heads
    hidden = max(heads, run.config.width - run.config.width % heads)
    return run_data(run.config).vocab_size * hidden * 4


def _faster(slow_ms: float, fast_ms: float) -> str:
    """'2.3× faster', '1,142× faster', '1.6× slower', 'about as fast'."""
    ratio = slow_ms / max(fast_ms, 1e-9)
    if ratio <= 0.9:
        return f"{1 / ratio:.1f}× slower"
    if ratio < 1.1:
        return "about as fast"
    return f"{ratio:,.0f}× faster" if ratio >= 10 else f"{ratio:.1f}× faster"


def _batch(bm: dict, q: dict) -> str:
    """How the two compare on 256 sentences at once, where the 8-bit arithmetic has enough
    work to pay for converting the numbers in and out ('' where it was not measured)."""
    slow, fast = bm.get("latency_ms_batch256"), q.get("latency_ms_batch256")
    if not slow or not fast:
        return ""
    said = (f" On 256 sentences at once it takes {fast:.0f} ms against {slow:.0f} ms "
            f"({_faster(slow, fast)})")
    if slow / fast >= 1.1 and q.get("latency_ms", 0) >= bm.get("latency_ms", 0):
        return said + ": 8 bits pay on big batches; on one short sentence converting the " \
                      "numbers in and out costs more than the smaller arithmetic saves."
    return said + "."


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    bert, alone, student = runs["big_bert"], runs["small_alone"], runs["small_student"]
    bm, sm = bert.metrics, student.metrics
    labels = {s.role: s.label for s in story.steps}
    size, ms = float(bm["size_bytes"]), float(bm["latency_ms"])
    rows = [{"run": labels["big_bert"], "size": size, "share": 1.0, "accuracy": acc(bert),
             "ms": ms}]
    lines = [f"The tiny BERT ({bm['params']:,} learned numbers) stores "
             f"{human_bytes(size, 'KB')} of weights, answers one sentence in {ms:.1f} ms on "
             f"this machine and reads {percent(acc(bert))} of the test sentences right."]
    q = bm.get("quantized") or {}
    q_size, q_ms, q_acc = (QUANTIZED_SIZE.value(bm), QUANTIZED_LATENCY.value(bm),
                           QUANTIZED_ACCURACY.value(bm))
    int8_label = "Tiny BERT, stored in 8 bits"
    if q_size is not None and q_ms is not None and q_acc is not None:
        # Both sizes measured the same way (the model written out), so their ratio is fair.
        share = q_size / max(1, q.get("float_size_bytes") or size)
        table_bytes = _word_table_bytes(bert)
        rows.append({"run": int8_label, "size": float(q_size), "share": share,
                     "accuracy": float(q_acc), "ms": float(q_ms)})
        lines.append(
            f"Stored in 8-bit whole numbers it is {human_bytes(q_size, 'KB')}, {share:.0%} of "
            f"the size, and answers one sentence in {q_ms:.1f} ms ({_faster(ms, q_ms)}); it "
            f"reads {percent(q_acc)} "
            f"({change(points(acc(bert), q_acc)).replace('changed nothing', 'the same')}): "
            f"{q.get('changed_predictions', 0)} of {bm['test_examples']} answers changed."
            + _batch(bm, q))
        lines.append(
            "Both the layers that multiply (attention and the feed-forward layers) and the "
            "word table (one row of numbers per word piece, with one scale per row) are "
            "stored in 8 bits. In a BERT this small the word table is most of it: "
            f"{human_bytes(table_bytes, 'KB')} in 32 bits, {table_bytes / size:.0%} of the "
            "whole. Whether 8 bits also answer faster depends on the machine: on matrices "
            "this narrow, turning numbers to 8 bits on the fly costs about what it saves.")
    else:
        lines.append(f"The 8-bit copy was not made on this machine: "
                     f"{q.get('skipped', 'no quantized numbers were kept')}.")
    s_size, s_ms = float(sm["size_bytes"]), float(sm["latency_ms"])
    rows.append({"run": labels["small_student"], "size": s_size, "share": s_size / size,
                 "accuracy": acc(student), "ms": s_ms})
    a_size = float(alone.metrics["size_bytes"])
    rows.append({"run": labels["small_alone"], "size": a_size, "share": a_size / size,
                 "accuracy": acc(alone), "ms": float(alone.metrics["latency_ms"])})
    taught = luck_of(runs, "small_alone", "small_student")
    lines.append(
        f"The student counts words, {human_bytes(s_size, 'KB')} ({s_size / size:.0%} of the "
        f"BERT) answering in {s_ms:.2f} ms ({_faster(ms, s_ms)}). Learning from the BERT's "
        f"answers as well as the labels it reads {percent(acc(student))} "
        f"({change(points(acc(bert), acc(student)))} against the BERT)"
        f"{luck_said(luck_of(runs, 'big_bert', 'small_student'))}; the same word counter "
        f"alone reads {percent(acc(alone))}, so the teacher "
        f"{change(points(acc(alone), acc(student)), 'added', 'cost')}{luck_said(taught)}."
        + (f" It agrees with the BERT on {sm['teacher_agreement']:.0%} of the test "
           "sentences." if "teacher_agreement" in sm else ""))
    lines.append("A student can only copy what its teacher knows: a teacher that reads no "
                 "better than word counts has little to hand down, and a word counter "
                 "cannot copy what depends on word order (see \"Does word order matter?\").")
    # The verdict: what the student buys and costs, then what 8 bits did.
    student_luck = luck_of(runs, "big_bert", "small_student")
    headline = (f"The word counter taught by the BERT is {s_size / size:.0%} of the BERT's "
                f"size and "
                f"answers {_faster(ms, s_ms)}, reading {percent(acc(student))} against "
                f"{percent(acc(bert))}{luck_said(student_luck)}")
    if len(rows) == 4:  # the 8-bit copy was made
        q_row = rows[1]
        moved = points(acc(bert), q_row["accuracy"])
        headline += (f"; stored in 8 bits the BERT keeps {q_row['share']:.0%} of its size, "
                     f"is {_faster(ms, q_row['ms'])} on one sentence and "
                     + ("reads as well." if abs(moved) < 0.05 else
                        f"reads {abs(moved):.1f} points {'better' if moved > 0 else 'worse'}."))
    else:
        headline += "."
    chart = bars([{"run": r["run"], "kilobytes": r["size"] / 1024,
                   "accuracy": percent(r["accuracy"])} for r in rows], "kilobytes",
                 "size to ship (KB)", fmt=",.1f", note="accuracy")
    shown = table([{"run": r["run"], "size": human_bytes(r["size"], "KB"),
                    "share of the BERT's size": f"{r['share']:.0%}",
                    "one answer": f"{r['ms']:.2f} ms", "accuracy": percent(r["accuracy"])}
                   for r in rows])
    return Walkthrough(headline, lines, shown, chart)


STORY = register(Story(
    "phone", "A smaller model for a phone",
    "My language model is too big for a phone app: what can I shrink?",
    "A tiny BERT learns to tell positive review sentences from negative ones. Then two ways "
    "of making it smaller compete: storing its numbers in 8 bits instead of 32, and "
    "teaching a word counter (a bag of words, far smaller) to copy its answers. The same "
    "word counter also learns alone, to show what the teacher added. The student waits "
    "for its teacher.",
    (Step("big_bert", "Tiny BERT", TEACHER),
     Step("small_alone", "Word counter alone", COUNTS),
     Step("small_student", "Word counter taught by the BERT", STUDENT, teacher="big_bert")),
    explain, order=130))
