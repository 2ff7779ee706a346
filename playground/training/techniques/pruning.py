"""Magnitude pruning: zero the smallest weights after training, optionally fine-tune."""
from __future__ import annotations

from torch import nn
from torch.nn.utils import prune

from playground.training.techniques.base import Param, Technique, register


def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights among the prunable layers."""
    total = zeros = 0
    for module, name in prunable(model):
        w = getattr(module, name)
        total += w.numel()
        zeros += int((w == 0).sum())
    return zeros / max(1, total)


@register
class Pruning(Technique):
    name = "pruning"
    title = "Pruning"
    description = ("After training, sets the smallest weights to exactly zero (the target "
                   "share across all layers), then optionally trains a little more with them "
                   "held at zero to win back accuracy. Zeros compress well and can be skipped "
                   "by sparse hardware; the dense file here keeps its size.")
    params = (
        Param("amount", 0.5, "Target share of weights set to zero.", 0.05, 0.95,
              flag="--prune"),
        Param("fine_tune_epochs", 2, "Extra epochs after pruning (0: none).", 0, 20,
              flag="--prune-fine-tune"),
    )
    measures = ("sparsity", "validation accuracy before and after pruning")

    def check(self, config) -> list[str]:
        if self.fine_tune_epochs and "dp" in config.techniques:
            # DP-SGD clips per-example gradients of the layers' own weights, which
            # pruning's masks replace; fine-tuning would also spend more privacy budget.
            return ["pruning.fine_tune_epochs: fine-tuning after pruning can't run with "
                    "privacy noise (DP-SGD); set it to 0 (pruning alone keeps the guarantee)"]
        return []

    def on_train_end(self, ctx) -> None:
        self.val_before = ctx.validate()[1]
        prune.global_unstructured(prunable(ctx.model), pruning_method=prune.L1Unstructured,
                                  amount=self.amount)
        self.val_pruned = ctx.validate()[1]
        if self.fine_tune_epochs:
            # The pruning masks stay attached, so fine-tuning keeps the zeros at zero.
            ctx.stop = False  # early stopping may have ended the main training
            ctx.run_epochs(self.fine_tune_epochs)
        for module, name in prunable(ctx.model):
            prune.remove(module, name)

    def finalize(self, ctx, metrics) -> None:
        metrics["sparsity"] = sparsity(ctx.model)
        metrics["pruning"] = {"target": self.amount, "val_accuracy_before": self.val_before,
                              "val_accuracy_pruned": self.val_pruned,
                              "fine_tune_epochs": self.fine_tune_epochs}
