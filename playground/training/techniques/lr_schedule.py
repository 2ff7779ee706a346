"""Learning-rate schedule: cosine decay from the chosen rate to near zero."""
from __future__ import annotations

import torch

from playground.training.techniques.base import Param, Technique, register

FINE_TUNE_SHARE = 0.1  # learning rate after training, as a share of the starting one


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
        self.done = False
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            ctx.optimizer, T_max=max(1, ctx.total_steps))

    def after_step(self, ctx) -> None:
        if not self.done:
            self.scheduler.step()

    def on_train_end(self, ctx) -> None:
        # Epochs after training (pruning's fine-tuning) must not restart the cosine, which
        # is periodic past its end; they take small, constant steps instead.
        self.done = True
        self.final_lr = self.scheduler.get_last_lr()[0]
        for group in ctx.optimizer.param_groups:
            group["lr"] = FINE_TUNE_SHARE * ctx.config.lr

    def finalize(self, ctx, metrics) -> None:
        metrics["final_lr"] = self.final_lr
