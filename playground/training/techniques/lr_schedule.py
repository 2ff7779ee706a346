"""Learning-rate schedule: cosine decay from the chosen rate to near zero."""
from __future__ import annotations

import torch

from playground.common.content import Lesson, Term
from playground.training.techniques.base import Param, Technique, register

FINE_TUNE_SHARE = 0.1  # learning rate after training, as a share of the starting one


@register
class LRSchedule(Technique):
    name = "lr_schedule"
    title = "Learning-rate schedule"
    description = ("Starts with the chosen learning rate and lowers it smoothly (a cosine "
                   "curve) towards zero by the last step: big steps early, fine ones at the end.")
    order = 60  # when its hooks run
    params = (Param("kind", "cosine", "Shape of the decay.", choices=("cosine",),
                    flag="--schedule"),)
    per_step = frozenset({"after_step"})

    def on_optimizer(self, ctx) -> None:
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            ctx.optimizer, T_max=max(1, ctx.total_steps))

    def after_step(self, ctx) -> None:
        if ctx.phase != "fine-tune":  # the cosine spans the train phase only
            self.scheduler.step()

    def on_train_end(self, ctx) -> None:
        self.final_lr = self.scheduler.get_last_lr()[0]

    def on_phase_start(self, ctx) -> None:
        # Fine-tuning epochs (pruning's) must not restart the cosine, which is periodic
        # past its end; they take small, constant steps instead.
        if ctx.phase == "fine-tune":
            for group in ctx.optimizer.param_groups:
                group["lr"] = FINE_TUNE_SHARE * ctx.config.lr

    def finalize(self, ctx, metrics) -> None:
        metrics["final_lr"] = self.final_lr

    terms = (Term("lr_schedule", "Learning-rate schedule",
                  "Changing the learning rate while training: here big steps first, then "
                  "smaller ones (a cosine curve) to settle precisely."),)
    lesson = Lesson(
        "Starts with big learning steps and makes them smaller and smaller towards the end.",
        "A more precise final model for the same training time, against one more thing to "
        "set; it can't rescue a starting learning rate that is far off.",
        "Standard practice when training large models, where it buys accuracy without "
        "buying more compute.",
        {"dataset": "spirals", "model": "mlp", "epochs": 30, "lr": 0.03, "schedule": "cosine"},
        "Train it once more without the schedule and compare the loss curves' last epochs.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        if "final_lr" not in m:
            return []
        return [f"The learning rate was lowered smoothly from {run.config.lr:g} to "
                f"{m['final_lr']:.1g} by the last step."]
