"""Early stopping: stop when validation loss stops improving; keep the best weights."""
from __future__ import annotations

import copy

from playground.common.content import Lesson, Section, Term
from playground.training.capabilities import STOPS_EARLY
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
    order = 50  # when its hooks run
    regularises = True  # stops before the model memorises
    provides = (STOPS_EARLY,)
    params = (Param("patience", 3, "Epochs without improvement before stopping.", 1, 50,
                    flag="--early-stop", sweep="1, 3, 5"),)

    def on_model(self, ctx) -> None:
        self.best_loss = float("inf")
        self.best_epoch = 0
        self.best_state = None
        self.stopped_epoch = None

    def after_epoch(self, ctx, epoch, values) -> None:
        if ctx.phase != "train":  # fine-tuning epochs (pruning's) are not watched
            return
        if values["val_loss"] < self.best_loss - 1e-6:
            self.best_loss, self.best_epoch = values["val_loss"], epoch
            self.best_state = copy.deepcopy(_unwrapped(ctx.model).state_dict())
        elif epoch - self.best_epoch >= self.s.patience:
            self.stopped_epoch = epoch
            ctx.request_stop(by=self)

    def on_train_end(self, ctx) -> None:
        if self.best_state is not None:
            _unwrapped(ctx.model).load_state_dict(self.best_state)

    def finalize(self, ctx, metrics) -> None:
        metrics["stopped_epoch"] = self.stopped_epoch
        metrics["best_epoch"] = self.best_epoch

    terms = (Term("early_stopping", "Early stopping",
                  "Stop training once the validation loss has not improved for a few epochs, "
                  "and keep the best weights seen.",
                  "It saves time and stops the model before it starts memorising."),)
    lesson = Lesson(
        "Stops training once the validation results stop improving, and keeps the best "
        "weights seen.",
        "Saved time and less overfitting, against the risk of stopping just before a slow "
        "improvement.",
        "Teams that retrain models every night and don't want to pay for compute once the "
        "model has stopped getting better.",
        {"dataset": "breast_cancer", "model": "mlp", "epochs": 50, "early_stop": 3},
        "The run card says at which epoch it stopped and how many epochs that saved.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m, epochs = run.metrics, run.config.epochs
        if "best_epoch" not in m:
            return []
        if stopped := m.get("stopped_epoch"):
            return [f"Early stopping ended training at epoch {stopped} of {epochs} and went "
                    f"back to the weights of epoch {m['best_epoch']}, saving "
                    f"{epochs - stopped} epochs."]
        return ["Early stopping never triggered: validation loss kept improving; the weights "
                f"of epoch {m['best_epoch']} were kept."]

    @classmethod
    def result(cls, run):
        m = run.metrics
        stopped = m.get("stopped_epoch")
        return Section(lines=("**Early stopping**: " + (
            f"stopped after epoch {stopped}; kept the weights of epoch {m.get('best_epoch')}."
            if stopped else
            f"never triggered; kept the weights of epoch {m.get('best_epoch')}."),))
