"""Early stopping: stop when validation loss stops improving; keep the best weights."""
from __future__ import annotations

import copy

from playground.training.techniques.base import Param, Technique, register


def _unwrapped(model):
    """The plain module inside a DP-SGD wrapper (Opacus' GradSampleModule), else the model.

    DP-SGD unwraps the model when training ends, so the best weights are kept and restored
    by their plain names."""
    return getattr(model, "_module", model)


@register
class EarlyStopping(Technique):
    name = "early_stopping"
    title = "Early stopping"
    description = ("Watches the loss on the validation data and stops training once it has "
                   "not improved for a few epochs, then goes back to the best weights seen. "
                   "Saves time and avoids memorising the training data.")
    params = (Param("patience", 3, "Epochs without improvement before stopping.", 1, 50,
                    flag="--early-stop"),)
    measures = ("epoch it stopped at", "best epoch")

    def on_model(self, ctx) -> None:
        self.best_loss = float("inf")
        self.best_epoch = 0
        self.best_state = None
        self.stopped_epoch = None
        self.done = False

    def after_epoch(self, ctx, epoch, values) -> None:
        if self.done:  # epochs after training (pruning's fine-tuning) are not watched
            return
        if values["val_loss"] < self.best_loss - 1e-6:
            self.best_loss, self.best_epoch = values["val_loss"], epoch
            self.best_state = copy.deepcopy(_unwrapped(ctx.model).state_dict())
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            ctx.stop = True

    def on_train_end(self, ctx) -> None:
        self.done = True
        if self.best_state is not None:
            _unwrapped(ctx.model).load_state_dict(self.best_state)

    def finalize(self, ctx, metrics) -> None:
        metrics["stopped_epoch"] = self.stopped_epoch
        metrics["best_epoch"] = self.best_epoch
