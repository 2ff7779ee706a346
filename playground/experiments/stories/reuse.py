"""Reuse what you learned: the digits 5-9 from 5% of their examples, from scratch and from
the head start of a network that learned 0-4 (transfer learning)."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    accuracy_walkthrough,
    change,
    luck_of,
    luck_said,
    points,
    within_luck,
)
from playground.runs.store import Run

# An image network learns the digits 0-4 from all their examples; then 5-9 from 5% of
# theirs, from scratch and from that head start (the CLI's defaults).
REUSE_SOURCE = dict(dataset="digits", model="cnn", epochs=10, classes="0-4")
REUSE_TARGET = dict(dataset="digits", model="cnn", epochs=10, classes="5-9",
                    train_fraction=0.05)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    source, scratch, transfer, frozen = (runs[r] for r in ("source", "scratch", "transfer",
                                                              "frozen"))
    share = story.step("scratch").values["train_fraction"]
    gain = points(acc(scratch), acc(transfer))
    frozen_gain = points(acc(scratch), acc(frozen))
    ft = frozen.metrics["transfer"]
    luck = luck_of(runs, "scratch", "transfer")
    lines = [
        f"Learning the digits 0 to 4 from all their examples, the first network reads "
        f"{percent(acc(source))} of their test pictures.",
        f"From scratch, with only {share:.0%} of the examples of 5 to 9, a new network "
        f"reads {percent(acc(scratch))} of theirs.",
        f"Starting from the first network's weights (a fresh last layer for the new digits) "
        f"it reads {percent(acc(transfer))}: the head start {change(gain)}{luck_said(luck)}.",
        f"With every layer but the last frozen, only {ft['trainable_params']:,} of "
        f"{frozen.metrics['params']:,} learned numbers train, and it reads "
        f"{percent(acc(frozen))} ({change(frozen_gain)} against scratch"
        f"{luck_said(luck_of(runs, 'scratch', 'frozen'))}).",
    ]
    if within_luck(luck) and abs(gain) >= 0.05:
        headline = (f"The head start moved the network {abs(gain):.1f} points on new digits"
                    f"{luck_said(luck)}: no real difference this time.")
    elif gain >= 0.05:
        headline = (f"The head start made the network {gain:.1f} points more accurate on new "
                    f"digits learned from {share:.0%} of the data{luck_said(luck)}.")
    elif gain <= -0.05:
        headline = (f"This time the head start cost {-gain:.1f} points{luck_said(luck)}: what "
                    "the network learned about 0 to 4 did not carry over to 5 to 9.")
        lines.append("Transfer pays when the first task taught patterns the new one needs. "
                     "On these tiny 8×8 pictures a network that only ever had to tell 0 to 4 "
                     "apart keeps patterns made for those digits, and the few examples of 5 "
                     "to 9 are not enough to unlearn them; fresh random weights are a better "
                     "start. This is called negative transfer; the usual remedy is a first "
                     "model trained on many more kinds of pictures.")
    else:
        headline = "The head start made no difference this time."
    t0 = source.metrics.get("train_seconds")
    t1, t2 = transfer.metrics.get("train_seconds"), scratch.metrics.get("train_seconds")
    if None not in (t0, t1, t2):
        lines.append(f"The price of the head start: the first network trained for "
                     f"{t0:.1f} s; the new one then took {t1:.1f} s, against {t2:.1f} s from "
                     "scratch.")
    return accuracy_walkthrough(story.steps, runs, headline, lines)


STORY = register(Story(
    "reuse", "Reuse what you learned",
    "Can I reuse a model I already trained instead of collecting more data?",
    "An image network learns to read the digits 0 to 4 from all their examples. Then "
    "the digits 5 to 9 have to be learned from only 5% of their examples (about five "
    "pictures per digit): once from scratch, once starting from the first network's "
    "weights (transfer learning: only its last layer, which names the classes, starts "
    "fresh), and once more from those weights with every layer but the last frozen. The "
    "queue makes the last two wait for the first.",
    # The scratch run first: it is exactly the twin the head start compares with, so
    # queueing the head start finds it in line and adds nothing.
    (Step("source", "Digits 0-4, all examples", REUSE_SOURCE),
     Step("scratch", "Digits 5-9, 5%, from scratch", REUSE_TARGET),
     Step("transfer", "Digits 5-9, 5%, from the head start", REUSE_TARGET,
          refs=dict(init_from="source")),
     Step("frozen", "Digits 5-9, 5%, head start, frozen layers",
          dict(REUSE_TARGET, freeze_features=True), refs=dict(init_from="source"))),
    explain, order=80))
