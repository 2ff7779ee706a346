"""When one class is rare: the digits 5-9 keep 5% of their training examples; a network
learns as is, with class weights, and with every digit common for reference."""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    listing,
    lopsided_accuracy,
    luck_of,
    luck_said,
    points,
    table,
)
from playground.runs.store import Run
from playground.training.techniques.class_weights import ClassWeights

# The digits 5-9 keep 5% of their training examples (about 5 each).
RARE = dict(dataset="digits", model="mlp", epochs=10, imbalance=0.05)


def _recall_of(run: Run, names: list[str]) -> float:
    """Mean recall of these classes in a run (by name)."""
    m = run.metrics
    return float(np.mean([m["recall_by_class"][m["class_names"].index(n)] for n in names]))


def _chart(rows: list[dict[str, Any]], runs: list[str]) -> alt.Chart:
    """Grouped bars: each class's recall, one bar per run."""
    df = pd.DataFrame(rows)
    base = alt.Chart(df, title="share of each digit's test examples found (recall)").encode(
        x=alt.X("class:N", title="digit (rare ones marked *)", sort=list(
            dict.fromkeys(df["class"])), axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("run:N", sort=runs),
        y=alt.Y("recall:Q", title="found (recall)", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, title=None,
                        legend=alt.Legend(orient="bottom", labelLimit=320),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8", "#9aa5b1"])),
        tooltip=["run", "class", alt.Tooltip("recall:Q", format=".1%")],
    )
    return base.mark_bar().properties(height=280)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    plain, weighted, full = runs["plain"], runs["weighted"], runs["balanced"]
    rare = list(plain.metrics["rare_classes"])
    common = [n for n in plain.metrics["class_names"] if n not in rare]
    counts = plain.metrics["train_class_counts"]
    names = plain.metrics["class_names"]
    few = min(counts[names.index(n)] for n in rare)
    many = max(counts[names.index(n)] for n in common)
    found = {role: _recall_of(runs[role], rare) for role in ("plain", "weighted", "balanced")}
    kept = {role: _recall_of(runs[role], common) for role in ("plain", "weighted", "balanced")}
    recall = plain.metrics["recall_by_class"]
    worst = min(range(len(recall)), key=lambda c: recall[c])
    share = story.step("plain").values["imbalance"]
    weights = ClassWeights.report(weighted.metrics).get("weights") or []
    lines = [
        f"With every digit as common as it is, the network reads {percent(acc(full))} of the "
        f"test digits and finds {percent(found['balanced'])} of the digits {listing(rare)}.",
        f"Then the digits {listing(rare)} keep only {share:.0%} of their training examples "
        f"(about {few} each, against up to {many} for the others); validation and test keep "
        f"all of theirs. Accuracy drops to {percent(acc(plain))}, but that hides the real "
        f"damage: the network finds only {percent(found['plain'])} of the rare digits, and "
        f"{percent(recall[worst])} of the {names[worst]}s.",
        f"In real data the test examples would be as lopsided as the training ones, and "
        f"accuracy would look better still: scored on such a test set, the same network "
        f"would get {percent(lopsided_accuracy(plain.metrics))} right while missing most "
        "rare cases. That is why a fraud model's 98 % accuracy can mean little.",
        (f"With class weights, a mistake on a rare digit counts about "
         f"{max(weights):.0f}× as much as one on a common digit while it learns. "
         if weights else "With class weights, mistakes on rare digits count more. ")
        + f"It then finds {percent(found['weighted'])} of the rare digits (against "
          f"{percent(found['plain'])}), and reads {percent(acc(weighted))} of all test "
          f"digits (against {percent(acc(plain))}"
          f"{luck_said(luck_of(runs, 'plain', 'weighted'))}); the common digits are found "
          f"{percent(kept['weighted'])} of the time "
          f"(against {percent(kept['plain'])}).",
        "Weights add no work to training (one pass over the same examples; here "
        f"{weighted.metrics['train_seconds']:.1f} s against "
        f"{plain.metrics['train_seconds']:.1f} s, as busy as the machine was), but they "
        "can't invent what the few examples don't show: the run with all the data still "
        f"finds {percent(found['balanced'])} of those digits.",
    ]
    gain = points(found["plain"], found["weighted"])
    if gain >= 0.5:
        headline = (f"Class weights found {percent(found['weighted'])} of the rare digits "
                    f"instead of {percent(found['plain'])} (accuracy: "
                    f"{percent(acc(plain))} → {percent(acc(weighted))}"
                    f"{luck_said(luck_of(runs, 'plain', 'weighted'))}), at no extra "
                    "training cost.")
    else:
        headline = (f"This time class weights did not help the rare digits: "
                    f"{percent(found['weighted'])} found, against {percent(found['plain'])} "
                    "without them.")
    rows, bars, order = [], [], []
    for role in ("plain", "weighted", "balanced"):
        run, label = runs[role], story.step(role).label
        order.append(label)
        rows.append({"run": label, "accuracy": percent(acc(run)),
                     "rare digits found": percent(found[role]),
                     "common digits found": percent(kept[role]),
                     "training time": f"{run.metrics['train_seconds']:.1f} s"})
        for name, r in zip(run.metrics["class_names"], run.metrics["recall_by_class"],
                           strict=True):
            bars.append({"run": label, "class": f"{name}*" if name in rare else name,
                         "recall": r})
    return Walkthrough(headline, lines, table(rows), _chart(bars, order))


STORY = register(Story(
    "rare", "When one class is rare",
    "Fraud is one case in fifty: is 98 % accuracy good?",
    "A network learns to read digits, but the digits 5 to 9 keep only 5% of their "
    "training examples, as fraud or a rare illness do in real data (the test digits stay "
    "complete, so we can see what it misses). It learns once as is and once with class "
    "weights, which make a mistake on a rare digit count more; a third run with every "
    "digit common shows what the missing examples cost. Watch how often each digit is "
    "found, not only the accuracy.",
    # The plain run first: it is exactly the twin class weights compare with.
    (Step("plain", "Rare digits, no weights", RARE),
     Step("weighted", "Rare digits, class weights", dict(RARE, class_weights="balanced")),
     Step("balanced", "Every digit common (reference)", dict(RARE, imbalance=1.0))),
    explain, order=100))
