"""L1 regularisation: a constant pull of every weight towards zero, which sets many to zero.

Applied as a proximal step after each optimizer step (soft-thresholding: every weight moves
lr x strength towards zero and stops at zero), not as a |w| term added to the loss: the
gradient of |w| never lands a weight exactly on zero, it jitters around it; the proximal step
does, which is the sparsity L1 is used for. It reads no data, so under DP-SGD it is
post-processing of the noisy step and leaves the privacy guarantee as it is (a loss term
would also be invisible to Opacus, which clips per-example gradients of the data's loss).
With Adam the threshold lr x strength is per step, as in the usual proximal-Adam recipes.
"""
from __future__ import annotations

import torch

from playground.common.content import Lesson, Section, Term
from playground.common.formatting import percent
from playground.training.techniques.base import Param, Technique, register

NEAR_ZERO = 1e-3  # |w| at or below this counts as "near zero" (exact zeros included)


def weight_matrices(model: torch.nn.Module) -> list[torch.Tensor]:
    """The layers' weights (matrices and kernels); biases and norm scales stay free."""
    return [p for p in model.parameters() if p.dim() > 1 and p.requires_grad]


def near_zero_share(model: torch.nn.Module) -> float:
    weights = weight_matrices(model)
    total = sum(w.numel() for w in weights)
    small = sum(int((w.detach().abs() <= NEAR_ZERO).sum()) for w in weights)
    return small / max(1, total)


@register
class L1(Technique):
    name = "l1"
    title = "L1 regularisation"
    short_title = "L1 regularisation"
    description = ("Pulls every weight towards zero by the same small amount at every step "
                   "and lets it stop at zero, so weights the model does not need become "
                   "exactly zero. Weight decay (L2) shrinks weights; L1 removes them.")
    order = 105  # after the optimizer's step, on the weights it produced
    regularises = True
    per_step = frozenset({"after_step"})
    params = (Param("strength", 0.05, "How hard each weight is pulled towards zero, per "
                    "step (times the learning rate).", 0.0, 1.0, flag="--l1",
                    sweep="0, 0.05, 0.2, 0.5"),)

    def on_model(self, ctx) -> None:
        self.share_before = near_zero_share(ctx.model)

    def after_step(self, ctx) -> None:
        lr = ctx.optimizer.param_groups[0]["lr"]  # follows a learning-rate schedule
        threshold = lr * self.s.strength
        with torch.no_grad():
            for w in weight_matrices(ctx.model):
                # soft-thresholding: sign(w) * max(|w| - t, 0), in place
                w.copy_(w.sign() * (w.abs() - threshold).clamp_(min=0))

    def finalize(self, ctx, metrics) -> None:
        metrics["l1"] = {"strength": self.s.strength, "near_zero": near_zero_share(ctx.model),
                         "near_zero_before": self.share_before, "threshold": NEAR_ZERO}

    terms = (Term("l1", "L1 regularisation",
                  "A pull of every weight towards zero by the same small amount at every "
                  "step, stopping at zero, so the weights the model does not need end at "
                  "exactly zero.",
                  "Weight decay (L2) makes big weights smaller; L1 makes small weights "
                  "vanish. The zeros make a sparse model: smaller once compressed, and it "
                  "shows which inputs the model ignores."),)
    lesson = Lesson(
        "Pulls every weight towards zero by a fixed amount at each step, so unneeded weights "
        "become exactly zero.",
        "A sparser, simpler model (many weights at zero) against accuracy once the pull is "
        "strong enough to remove weights the model needed.",
        "A team that must ship a small model, or wants to see which inputs a model can do "
        "without.",
        {"dataset": "breast_cancer", "model": "mlp", "epochs": 30, "l1": 0.1},
        "Try 0.05, 0.2 and 0.5 and compare the share of zero weights with the accuracy.")

    @classmethod
    def _words(cls, m) -> str | None:
        l1 = m.get("l1")
        if not l1:
            return None
        return (f"{percent(l1['near_zero'])} of the weights are now zero or near it (at most "
                f"{l1['threshold']:g}), against {percent(l1['near_zero_before'])} before "
                "training")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        words = cls._words(run.metrics)
        return [f"L1 regularisation pulled the weights towards zero: {words}."] if words else []

    @classmethod
    def bought(cls, metrics):
        words = cls._words(metrics)
        return f"a sparser model ({words})" if words else None

    @classmethod
    def result(cls, run):
        words = cls._words(run.metrics)
        return Section(lines=(f"**L1 regularisation**: {words}.",)) if words else None
