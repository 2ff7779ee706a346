"""Learning-rate schedule: cosine decay from the chosen rate to near zero."""
from __future__ import annotations

import torch

from playground.techniques import Param, Technique, register


@register
class LRSchedule(Technique):
    name = "lr_schedule"
    title = "Learning-rate schedule"
    description = ("Starts with the chosen learning rate and lowers it smoothly (a cosine "
                   "curve) towards zero by the last step: big steps early, fine ones at the end.")
    params = (Param("kind", "cosine", "Shape of the decay.", choices=("cosine",),
                    flag="--schedule"),)
    measures = ("final learning rate",)

    def on_optimizer(self, ctx) -> None:
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            ctx.optimizer, T_max=max(1, ctx.total_steps))

    def after_step(self, ctx) -> None:
        self.scheduler.step()

    def finalize(self, ctx, metrics) -> None:
        metrics["final_lr"] = self.scheduler.get_last_lr()[0]
