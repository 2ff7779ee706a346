"""Weight decay (L2): a pull towards small weights on every step."""
from __future__ import annotations

from playground.common.content import Lesson, Term
from playground.training.techniques.base import Param, Technique, register


@register
class WeightDecay(Technique):
    name = "weight_decay"
    title = "Weight decay (L2)"
    description = ("Adds a small pull towards zero on every weight at every step, which "
                   "prefers simpler models and often generalises better.")
    order = 100  # when its hooks run
    short_title = "weight decay"
    regularises = True
    params = (Param("l2", 1e-4, "Strength of the pull towards zero.", 0.0, 0.1,
                    flag="--weight-decay", sweep="0, 0.001, 0.01"),)

    def on_optimizer(self, ctx) -> None:
        for group in ctx.optimizer.param_groups:
            group["weight_decay"] = self.s.l2

    def finalize(self, ctx, metrics) -> None:
        weights = [p.detach().abs().mean().item() for p in ctx.model.parameters() if p.dim() > 1]
        metrics["mean_abs_weight"] = sum(weights) / max(1, len(weights))

    terms = (Term("weight_decay", "Weight decay (L2)",
                  "A small pull of every weight towards zero at every step, which favours "
                  "simpler models."),)
    lesson = Lesson(
        "Pulls every weight a little towards zero at every step, favouring simpler models.",
        "Models that generalise better, against a slightly looser fit; too strong and the "
        "model can't learn.",
        "Almost every production neural network, as a cheap default guard against "
        "overfitting.",
        {"dataset": "wine", "model": "mlp", "epochs": 40, "width": 128, "weight_decay": 0.01},
        "Compare with the same run without weight decay: look at the training/validation gap.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        if "mean_abs_weight" not in m:
            return []
        return [f"Weight decay pulled the weights towards zero: their average size is "
                f"{m['mean_abs_weight']:.3f}."]
