"""Augment when data is scarce: an image network on 15% of the pictures, as is and with
augmentation, beside one trained on all of them."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    accuracy_walkthrough,
    change,
    luck_of,
    luck_said,
    memorised,
    points,
    within_luck,
)
from playground.runs.store import Run

SCARCE = dict(dataset="digits", model="cnn", epochs=40, lr=0.003, batch_size=32,
              train_fraction=0.15)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    scarce, aug, full = runs["scarce"], runs["augmented"], runs["full"]
    gain = points(acc(scarce), acc(aug))
    lost = points(acc(scarce), acc(full))
    n_scarce = story.step("scarce").values["train_fraction"]
    luck = luck_of(runs, "scarce", "augmented")
    lines = [
        f"With only {n_scarce:.0%} of the training pictures the network reads "
        f"{percent(acc(scarce))} of the test digits; with all of them, {percent(acc(full))}. "
        f"Scarce data cost {lost:.1f} points{luck_said(luck_of(runs, 'scarce', 'full'))}.",
        f"With augmentation (every step shows slightly turned, shifted and noisy copies of "
        f"the same few pictures) it reads {percent(acc(aug))}: augmentation "
        f"{change(gain)}{luck_said(luck)}"
        + (f"; that is {gain / lost:.0%} of what the missing data cost."
           if gain > 0 and lost > 0 and not within_luck(luck) else "."),
        f"On the training pictures the plain model ends {memorised(epochs['scarce']):.1f} "
        f"points above its validation score (it memorises); with augmentation the gap is "
        f"{memorised(epochs['augmented']):.1f} points.",
    ]
    headline = (f"Augmentation {change(gain)} when data was scarce{luck_said(luck)}: with so "
                "few pictures, results vary from seed to seed." if within_luck(luck) else
                f"Augmentation won back {gain:.1f} points when data was scarce"
                f"{luck_said(luck)}." if gain >= 0.05 else
                "Augmentation did not help this time: with so few pictures, results vary "
                "from seed to seed.")
    return accuracy_walkthrough(story.steps, runs, headline, lines)


STORY = register(Story(
    "augment", "Augment when data is scarce",
    "I only have a little data. Can I make more of it?",
    "An image network learns digits from only 15% of the training pictures (about 16 "
    "per digit), once as is and once with augmentation, which shows it slightly turned, "
    "shifted and noisy copies at every step. A third run with all the pictures shows "
    "what the missing data cost.",
    (Step("scarce", "15% of the data", SCARCE),
     Step("augmented", "15% of the data, augmented", dict(SCARCE, augment=0.5)),
     Step("full", "All the data", dict(SCARCE, train_fraction=1.0))),
    explain, order=40))
