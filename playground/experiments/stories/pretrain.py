"""Pretrain, then fine-tune: the large-model recipe in miniature. A tiny BERT first learns
the language of unlabelled sentences by guessing hidden words, then learns good and bad
reviews from a tenth of their labels; the same model from scratch on the same labels is the
comparison."""
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

# Small enough for a workshop's two cores: two layers 32 wide, pretrained on the training
# sentences of both shipped corpora, fine-tuned on 10 % of the reviews' labels.
MODEL = dict(model="bert", width=32, depth=2, lr=0.001, seed=0)
PRETRAIN = dict(MODEL, dataset="reviews", epochs=4, pretrain_also="sms_spam")
FEW_LABELS = dict(MODEL, dataset="reviews", epochs=10, train_fraction=0.1)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    pre, scratch, tuned = runs["pretrain"], runs["scratch"], runs["tuned"]
    p = pre.metrics.get("pretraining") or {}
    share = story.step("scratch").values["train_fraction"]
    labels = scratch.metrics.get("train_class_counts")
    labelled = f"{sum(labels):,} labelled sentences" if labels else f"{share:.0%} of the labels"
    gain = points(acc(scratch), acc(tuned))
    luck = luck_of(runs, "scratch", "tuned")
    lines = [
        f"First the tiny BERT read {p.get('sentences', 0):,} sentences with no labels (reviews "
        f"and text messages) and learnt to guess words hidden from them: on sentences it "
        f"never trained on it guesses {percent(p.get('guessed', 0.0))} of them.",
        f"Learning good and bad reviews from only {labelled}, the same model from scratch "
        f"gets {percent(acc(scratch))} of the test reviews right.",
        f"Starting from the pretrained model (its word pieces and encoder; only the layer "
        f"that names the classes starts fresh) it gets {percent(acc(tuned))}: pretraining "
        f"{change(gain)}{luck_said(luck)}.",
    ]
    if within_luck(luck) or abs(gain) < 0.05:
        headline = (f"Pretraining moved the model {abs(gain):.1f} points{luck_said(luck)}: "
                    "no real difference from so little unlabelled text this time.")
        lines.append("Large models pretrain on billions of sentences; a few thousand teach "
                     "a tiny model only a little. More pretraining epochs, or more of your "
                     "own unlabelled text, are the next things to try.")
    elif gain > 0:
        headline = (f"Pretraining on unlabelled text made the model {gain:.1f} points more "
                    f"accurate from {share:.0%} of the labels{luck_said(luck)}.")
    else:
        headline = (f"This time pretraining cost {-gain:.1f} points{luck_said(luck)}: what "
                    "it learnt from guessing words did not help this task.")
    t0, t1, t2 = (r.metrics.get("train_seconds") for r in (pre, tuned, scratch))
    if None not in (t0, t1, t2):
        lines.append(f"The price: pretraining took {t0:.1f} s, once, for any number of "
                     f"later tasks; the fine-tune then took {t1:.1f} s, against {t2:.1f} s "
                     "from scratch.")
    return accuracy_walkthrough(story.steps[1:], runs, headline, lines)


STORY = register(Story(
    "pretrain", "Pretrain, then fine-tune",
    "I have lots of text but few labels: does reading the text first help?",
    "A tiny BERT first reads the training sentences of the reviews and the text messages "
    "with no labels, learning to guess words hidden from them (masked-word pretraining, "
    "how every large language model starts). Then it learns good and bad reviews from only "
    "10% of their labels, once from scratch and once starting from what it learnt. The "
    "queue makes the fine-tune wait for the pretraining.",
    (Step("pretrain", "Pretraining on unlabelled sentences", PRETRAIN),
     Step("scratch", "Reviews, 10% of the labels, from scratch", FEW_LABELS),
     Step("tuned", "Reviews, 10% of the labels, pretrained first", FEW_LABELS,
          refs=dict(init_from="pretrain"))),
    explain, order=85))
