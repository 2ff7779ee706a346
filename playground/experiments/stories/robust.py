"""Robust or accurate? An image network trained normally and one trained adversarially, both
attacked with FGSM and PGD at the same strength."""
from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    luck_of,
    luck_said,
    not_attacked,
    points,
    table,
    within_luck,
)
from playground.runs.store import Run
from playground.training.techniques.adversarial_training import AdversarialTraining

# The default image network; its robustness audit and its adversarial training use the same
# strength (the audit's default), so the second run trains against the attack it then faces.
ROBUST = dict(dataset="digits", model="cnn", epochs=10)
ROBUST_STRENGTH = 0.1

ATTACKS = ("untouched", "FGSM attack", "PGD attack")


def _chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """Grouped bars: accuracy untouched, under FGSM and under PGD, one bar per run."""
    df = pd.DataFrame(rows)
    runs = list(dict.fromkeys(df["run"]))
    base = alt.Chart(df, title="test digits read correctly, untouched and attacked").encode(
        y=alt.Y("attack:N", sort=list(ATTACKS), title=None,
                axis=alt.Axis(labelFontSize=13, labelLimit=200)),
        yOffset=alt.YOffset("run:N", sort=runs),
        x=alt.X("accuracy:Q", title="share of test digits read correctly",
                axis=alt.Axis(format=".0%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]),
                scale=alt.Scale(domain=[0, 1.08])),  # room for the labels, no 105% tick
        color=alt.Color("run:N", sort=runs, title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8"])),
        tooltip=["run", "attack", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    bars = base.mark_bar()
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + text).properties(height=60 * len(ATTACKS) + 40)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    if (off := not_attacked(runs, "robustness")) is not None:
        return off
    plain, hard = runs["standard"], runs["adversarial"]
    r0, r1 = plain.metrics["robustness"], hard.metrics["robustness"]
    s, n = r0["strength"], r0["examples"]
    # What adversarial training reports about itself; the story's own strength if it did not.
    trained = AdversarialTraining.report(hard.metrics)
    trained_at = trained.get("strength", ROBUST_STRENGTH)

    def scores(r: dict[str, Any]) -> str:
        return (f"{percent(r['clean_accuracy'])} of {n} test digits as they are, "
                f"{percent(r['fgsm']['accuracy'])} after FGSM and "
                f"{percent(r['pgd']['accuracy'])} after PGD")

    lines = [
        f"The attacker may move each pixel by at most {s:g} on a scale from blank paper (0) "
        f"to full ink (1): a change a person hardly notices. FGSM takes one step in the "
        "direction that fools the model most; PGD takes "
        f"{r0['pgd'].get('steps', 'several')} smaller steps and checks after each, so it is "
        "the stronger attacker and its number is the one to trust.",
        f"Trained normally, the network reads {scores(r0)}.",
        f"Adversarially trained (on copies of its training pictures attacked at strength "
        f"{trained_at:g} at every step), it reads {scores(r1)}.",
    ]
    t0, t1 = plain.metrics["train_seconds"], hard.metrics["train_seconds"]
    ratio = t1 / max(t0, 1e-9)
    spent = trained.get("attack_seconds")
    clean = points(acc(plain), acc(hard))
    luck = luck_of(runs, "standard", "adversarial")
    lines.append(
        f"The price: on all {plain.metrics.get('test_examples', 'the')} test digits it reads "
        f"{percent(acc(hard))} against {percent(acc(plain))} ("
        + (f"{abs(clean):.1f} points {'more' if clean > 0 else 'fewer'}" if abs(clean) >= 0.05
           else "the same") + f"{luck_said(luck)}), and training took "
        f"{t1:.0f} s against {t0:.0f} s"
        + (f", {ratio:.1f}× as long" if ratio >= 1.05 else
           " (timings vary with whatever else the machine is doing)")
        + (f"; {spent:.0f} s of it went into attacking its own training pictures, one extra "
           "pass through the network per step." if spent is not None else "."))
    lines.append(f"To see one attacked digit beside the original, with each run's answer, "
                 f"open runs {plain.id} and {hard.id} on the Explain page and switch on "
                 "\"Attack this example\".")
    lines.append("Worth it when someone has a reason to fool the model (fraud checks, content "
                 "filters, screening uploaded documents or photos); for a model nobody "
                 "attacks, it is training time spent for nothing.")
    gain = points(r0["pgd"]["accuracy"], r1["pgd"]["accuracy"])
    paid = ([f"{ratio:.1f}× the training time"] if ratio >= 1.05 else []) + (
        [f"{-clean:.1f} points of ordinary accuracy{luck_said(luck)}"]
        if clean <= -0.05 and not within_luck(luck) else [])
    price = f"for {' and '.join(paid)}" if paid else "at no visible cost this time"
    if gain >= 0.5:
        headline = (f"Adversarial training kept {percent(r1['pgd']['accuracy'])} of attacked "
                    f"digits right instead of {percent(r0['pgd']['accuracy'])}, {price}.")
    else:
        headline = (f"This time adversarial training did not hold up better under attack: "
                    f"{percent(r1['pgd']['accuracy'])} right after PGD against "
                    f"{percent(r0['pgd']['accuracy'])} without it.")
    bars, rows = [], []
    for role in ("standard", "adversarial"):
        run, label = runs[role], story.step(role).label
        r = run.metrics["robustness"]
        for attack, accuracy in zip(ATTACKS, (r["clean_accuracy"], r["fgsm"]["accuracy"],
                                              r["pgd"]["accuracy"]), strict=True):
            bars.append({"run": label, "attack": attack, "accuracy": accuracy})
        rows.append({"run": label, "test accuracy": percent(acc(run)),
                     f"untouched ({n})": percent(r["clean_accuracy"]),
                     f"FGSM {s:g}": percent(r["fgsm"]["accuracy"]),
                     f"PGD {s:g}": percent(r["pgd"]["accuracy"]),
                     "training time": f"{run.metrics['train_seconds']:.0f} s"})
    return Walkthrough(headline, lines, table(rows), _chart(bars))


STORY = register(Story(
    "robust", "Robust or accurate?",
    "Could someone fool my model with a change too small to see?",
    "Someone who wants a model to be wrong can change an input a little, exactly in the "
    "direction that fools it most. An image network learns to read digits twice: "
    "normally, and with adversarial training, which attacks its own training pictures "
    "at every step and learns from the attacked copies. Then both are attacked: every "
    f"pixel may move by at most {ROBUST_STRENGTH:g} on a scale from blank paper (0) to "
    "full ink (1).",
    # The plain run first: it is exactly the twin adversarial training compares with,
    # so queueing the second run finds it in line and adds nothing.
    (Step("standard", "Trained normally", ROBUST),
     Step("adversarial", "Adversarially trained",
          dict(ROBUST, adversarial_training=ROBUST_STRENGTH))),
    explain, order=70))
