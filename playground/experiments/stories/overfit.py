"""Overfitting and dropout: a big network on a fifth of the digits memorises them; a copy
with dropout keeps learning longer."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import acc, curves, luck_of, luck_said, memorised, table
from playground.runs.store import Run

OVERFIT = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60, lr=0.003,
               train_fraction=0.2)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    lines, rows = [], []
    best = {}
    for step in story.steps:
        es = epochs[step.role]
        losses = [e["val_loss"] for e in es]
        k = losses.index(min(losses))
        best[step.role] = (k + 1, losses[k], losses[-1])
        rows.append({"run": step.label, "test accuracy": percent(acc(runs[step.role])),
                     "training accuracy": percent(es[-1]["train_accuracy"]),
                     "validation accuracy": percent(es[-1]["val_accuracy"]),
                     "best validation loss": f"{losses[k]:.3f} (epoch {k + 1})",
                     "final validation loss": f"{losses[-1]:.3f}"})
    e0, l0, f0 = best["plain"]
    e1, l1, f1 = best["with_dropout"]
    n = story.step("plain").values["epochs"]
    lines.append(
        f"Without dropout the big network gets {percent(epochs['plain'][-1]['train_accuracy'])} "
        f"of its training pictures right, {memorised(epochs['plain']):.1f} points more than "
        f"on the validation pictures it never trains on.")
    if f0 > l0 * 1.05:
        lines.append(f"Its validation loss is lowest at epoch {e0} ({l0:.3f}) and then climbs "
                     f"to {f0:.3f} by epoch {n}: from there on it memorises the training "
                     "pictures instead of learning digits. That is overfitting.")
    else:
        lines.append(f"Its validation loss stays near its best ({l0:.3f} at epoch {e0}), so "
                     "it barely overfitted this time.")
    lines.append(
        f"With dropout (half the neurons switched off at random each step) the gap is "
        f"{memorised(epochs['with_dropout']):.1f} points and the validation loss is lowest at "
        f"epoch {e1} ({l1:.3f}), ending at {f1:.3f}.")
    headline = ("Dropout kept the network learning longer: its validation loss ends "
                f"{f0 - f1:.3f} lower." if f1 < f0 else
                "Dropout did not lower the validation loss this time.")
    lines.append(f"Test accuracy: {percent(acc(runs['plain']))} without dropout, "
                 f"{percent(acc(runs['with_dropout']))} with it"
                 f"{luck_said(luck_of(runs, 'plain', 'with_dropout'))}. Falling validation loss "
                 "means the model is also more honest about how sure it is.")
    labels = {s.role: s.label for s in story.steps}
    chart = curves(epochs, labels, "val_loss", "validation loss (lower is better)")
    return Walkthrough(headline, lines, table(rows), chart)


STORY = register(Story(
    "overfit", "Overfitting and dropout",
    "Why does my model look great in training and worse on new data?",
    "A big network (3 layers of 256 neurons) trains for 60 epochs on 20% of the digits: "
    "far more capacity than data, so it starts memorising. A second copy uses dropout, "
    "which switches off half its neurons at random at every step so it cannot rely on "
    "any one of them. Watch the validation loss: the score on pictures it never trains on.",
    (Step("plain", "No dropout", OVERFIT),
     Step("with_dropout", "Dropout 0.5", dict(OVERFIT, dropout=0.5))),
    explain, order=50))
