"""A big teacher makes a small student smarter: a tiny network learns alone, then again with
a big network's answers to copy."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    bars,
    luck_of,
    luck_said,
    points,
    table,
    within_luck,
)
from playground.runs.store import Run

TEACHER = dict(dataset="digits", model="cnn", epochs=15, lr=0.01)
STUDENT = dict(dataset="digits", model="mlp", width=16, depth=1, epochs=30, lr=0.01)
DISTILL = dict(distill_temperature=4.0, distill_weight=0.7)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    t, alone, student = runs["teacher"], runs["alone"], runs["student"]
    tm, sm = t.metrics, student.metrics
    gain = points(acc(alone), acc(student))
    ratio = tm["params"] / max(1, sm["params"])
    luck = luck_of(runs, "alone", "student")
    lines = [
        f"The teacher, an image network with {tm['params']:,} learned numbers, reads "
        f"{percent(acc(t))} of the test digits correctly.",
        f"The student is a small network with {sm['params']:,} learned numbers, "
        f"{ratio:.0f}× fewer. Trained alone on the labels it reads {percent(acc(alone))}.",
        f"Trained on the labels plus the teacher's softened answers (which wrong digits "
        f"look plausible, e.g. a 7 that resembles a 1) it reads {percent(acc(student))}"
        f"{luck_said(luck)}; it agrees with the teacher on {sm['teacher_agreement']:.0%} of "
        "the test digits.",
    ]
    if within_luck(luck) and abs(gain) >= 0.05:
        headline = (f"The teacher moved the student {abs(gain):.1f} points"
                    f"{luck_said(luck)}: it made no real difference this time.")
    elif gain >= 0.05:
        headline = (f"The teacher made the student {gain:.1f} points more accurate"
                    f"{luck_said(luck)}.")
    elif gain <= -0.05:
        headline = (f"This time the teacher cost the student {-gain:.1f} points"
                    f"{luck_said(luck)}: distillation does not always pay.")
        lines.append("Distillation helps most when the student is not too small to copy "
                     "the teacher and trains long enough to follow its softened answers; on "
                     "easy data the labels already say nearly everything.")
    else:
        headline = "The teacher made no difference to the student this time."
    behind = points(acc(student), acc(t))
    lines.append(f"Either way the student is {ratio:.0f}× smaller than the teacher and "
                 f"{behind:.1f} points behind it: that is the trade a phone app makes.")
    rows = [{"run": story.step(r).label, "accuracy": acc(runs[r]),
             "parameters": runs[r].metrics["params"]} for r in ("teacher", "alone", "student")]
    chart = bars(rows, "accuracy", "test accuracy", note="parameters")
    shown = table([{**r, "accuracy": percent(r["accuracy"]), "parameters": f"{r['parameters']:,}"}
                   for r in rows])
    return Walkthrough(headline, lines, shown, chart)


STORY = register(Story(
    "teacher", "A big teacher makes a small student smarter",
    "Can a small, cheap model learn from a big one?",
    "A big image network (the teacher) learns first. Then a tiny network learns twice: "
    "once from the labels alone, once also from the teacher's answers, which say not "
    "just 'this is a 7' but 'it looks a bit like a 1'. The queue makes the student wait "
    "for its teacher.",
    (Step("teacher", "Big teacher", TEACHER),
     Step("alone", "Small student alone", STUDENT),
     Step("student", "Small student with the teacher", dict(STUDENT, **DISTILL),
          teacher="teacher")),
    explain, order=30))
