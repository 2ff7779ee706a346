"""Class weights: each training example's loss counts in inverse proportion to how common
its class is in this run's own training split, so a rare class is not drowned out.

Weighting, not resampling: weighting keeps one pass over the data per epoch, so a weighted
run costs what the plain run costs and sees every example exactly once; resampling (drawing
the rare examples again and again) makes the epochs longer or repeats the same few rare
pictures so often that the model learns them by heart. The weights are scikit-learn's
`compute_class_weight("balanced")`: n_examples / (n_classes · n_examples_of_the_class),
worked out from the training labels the run really has (after its imbalance and training
fraction); validation and test are never looked at. The loss is torch's weighted
cross-entropy, normalised as torch does (divided by the batch's total weight), so the
learning rate means what it means without weights.

With DP-SGD the batch is not normalised by its total weight: that sum depends on which
other examples were drawn, so one person's example would change how every other example's
gradient is scaled, and the per-example clipping that ε rests on would no longer bound one
person's influence. Instead each example's loss is multiplied by its class's weight and
the batch averaged as DP-SGD expects (the balanced weights average 1 over the training
set, so the scale is the same on average): each example's gradient then depends on itself
alone, is clipped as usual, and ε holds. Clipping does cap how much a heavily weighted rare
example can pull, so under DP the weights help less.

With distillation the weights apply to the label half of the lesson (the teacher's half is
left as it is); with adversarial training, to the attacked examples. Mixup's blended labels
are weighted class by class, as torch's weighted cross-entropy does for soft labels.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from playground.common.content import Lesson, Section, Term, Tile
from playground.common.formatting import percent
from playground.training.capabilities import (
    LOSS_CHANGE,
    NEEDS_LABELS,
    PRIVACY_GUARANTEE,
    REBALANCES_CLASSES,
)
from playground.training.techniques.base import Param, Technique, finished_twin, register, without


def balanced_weights(y_train: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's balanced class weights for these labels; a class with no training
    example (it never appears in the loss) gets weight 1."""
    from sklearn.utils.class_weight import compute_class_weight

    weights = np.ones(n_classes)
    present = np.unique(y_train)
    weights[present] = compute_class_weight("balanced", classes=present, y=y_train)
    return weights


def unweighted_twin(config):
    """The same run without class weights: what they cost and buy is measured there."""
    return without(config, "class_weights")


@register
class ClassWeights(Technique):
    name = "class_weights"
    title = "Class weights"
    short_title = "class weights"
    description = ("Makes mistakes on rare classes cost more while the model learns: each "
                   "example counts in inverse proportion to how common its class is in the "
                   "training data. Rare classes get found more often, usually for a little "
                   "accuracy on the common ones.")
    order = 18  # before distillation's loss (weights its label half), before DP-SGD's
    params = (Param("mode", "balanced", "How the weights are set: balanced = inverse of each "
                    "class's share of the training examples (scikit-learn's 'balanced').",
                    choices=("balanced",), flag="--class-weights", term="class_weights"),)
    per_step = frozenset({"loss"})
    provides = (LOSS_CHANGE, REBALANCES_CLASSES)
    needs = (NEEDS_LABELS,)  # it weighs each example by its own label

    @classmethod
    def companions(cls, config):
        return [unweighted_twin(config)]

    @classmethod
    def label(cls, settings):
        return "class weights"

    def on_model(self, ctx) -> None:
        self.weights = balanced_weights(ctx.data.y_train, ctx.data.n_classes)
        self.w = torch.tensor(self.weights, dtype=torch.float32, device=ctx.device)
        self.private = bool(ctx.provides(PRIVACY_GUARANTEE))

    def loss(self, ctx, logits, xb, yb, loss):
        w = self.w.to(logits.dtype)
        if self.private:  # per-example weights, batch mean: each gradient its own (above)
            if yb.dim() == 1:
                return (w[yb] * F.cross_entropy(logits, yb, reduction="none")).mean()
            return -(yb * w * F.log_softmax(logits, dim=1)).sum(1).mean()
        return F.cross_entropy(logits, yb, weight=w)

    def finalize(self, ctx, metrics) -> None:
        twin = finished_twin(ctx.store, unweighted_twin(ctx.config))
        counts = np.bincount(ctx.data.y_train, minlength=ctx.data.n_classes)
        metrics["class_weights"] = {
            "mode": self.s.mode, "weights": [float(w) for w in self.weights],
            "train_counts": counts.tolist(),
            "method": "sklearn compute_class_weight('balanced'); weighted cross-entropy"
                      + (" (per-example weights, batch mean: DP-SGD)" if self.private else ""),
            "baseline_run_id": twin.id if twin else None,
            "baseline_rare_recall": twin.metrics.get("rare_recall") if twin else None,
        }

    terms = (
        Term("class_weights", "Class weights",
             "Making mistakes on rare classes cost more during training, so the model does not "
             "simply ignore them.",
             "Each example's error counts in inverse proportion to how common its class is in "
             "the training data (a class ten times rarer counts ten times more). Rare classes "
             "get found more often; the common ones may lose a little, and overall accuracy "
             "may barely move."),
    )
    lesson = Lesson(
        "Makes the model's mistakes on rare classes cost more while it learns, so it stops "
        "ignoring them.",
        "How often the rare classes are found (their recall), against a little accuracy on "
        "the common classes; no extra training time.",
        "A bank flagging fraud (one payment in hundreds), a clinic screening for a rare "
        "condition, a factory spotting the odd faulty part: the rare case is the one that "
        "matters.",
        {"dataset": "digits", "model": "mlp", "imbalance": 0.05, "class_weights": "balanced"},
        "The same run without class weights is queued beside it: compare the recall of the "
        "rare classes on the two run cards, not only the accuracy.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        cw = m.get("class_weights")
        if not cw or m.get("rare_recall") is None:
            return []
        line = (f"Class weights made each rare example count up to "
                f"{max(cw['weights']):.1f}× as much as an average one.")
        base = cw.get("baseline_rare_recall")
        if base is not None and not told:
            line += (f" The rare classes were found {percent(m['rare_recall'])} of the time, "
                     f"against {percent(base)} without the weights (run "
                     f"{cw['baseline_run_id']}).")
        return [line]

    @classmethod
    def bought(cls, metrics):
        if metrics.get("rare_recall") is None:
            return None
        return f"a rare-class recall of {percent(metrics['rare_recall'])}"

    @classmethod
    def result(cls, run):
        m = run.metrics
        cw = m.get("class_weights")
        if not cw:
            return None
        names = m.get("class_names") or [str(i) for i in range(len(cw["weights"]))]
        top = max(range(len(cw["weights"])), key=lambda i: cw["weights"][i])
        line = (f"**Class weights** ({cw['mode']}): an example of class {names[top]} counted "
                f"{cw['weights'][top]:.1f}× (it had {cw['train_counts'][top]} training "
                "examples).")
        tiles = []
        if m.get("rare_recall") is not None:
            tiles.append(Tile("Rare classes found", percent(m["rare_recall"]),
                              "Mean recall of the rare classes on the test set."))
            if cw.get("baseline_rare_recall") is not None:
                tiles.append(Tile("Without weights", percent(cw["baseline_rare_recall"]),
                                  f"Run {cw['baseline_run_id']}, same seed."))
            else:
                line += " Its twin trained without weights has not finished yet."
        return Section(lines=(line,), tiles=tuple(tiles))
