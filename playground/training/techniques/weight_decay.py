"""Weight decay (L2): a pull towards small weights on every step."""
from __future__ import annotations

from playground.training.techniques.base import Param, Technique, register


@register
class WeightDecay(Technique):
    name = "weight_decay"
    title = "Weight decay (L2)"
    description = ("Adds a small pull towards zero on every weight at every step, which "
                   "prefers simpler models and often generalises better.")
    params = (Param("l2", 1e-4, "Strength of the pull towards zero.", 0.0, 0.1,
                    flag="--weight-decay"),)
    measures = ("mean absolute weight",)

    def on_optimizer(self, ctx) -> None:
        for group in ctx.optimizer.param_groups:
            group["weight_decay"] = self.l2

    def finalize(self, ctx, metrics) -> None:
        weights = [p.detach().abs().mean().item() for p in ctx.model.parameters() if p.dim() > 1]
        metrics["mean_abs_weight"] = sum(weights) / max(1, len(weights))
