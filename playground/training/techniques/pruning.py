"""Magnitude pruning: zero the smallest weights after training, optionally fine-tune."""
from __future__ import annotations

from torch import nn
from torch.nn.utils import prune

from playground.common.content import Lesson, Section, Term
from playground.common.formatting import percent
from playground.common.metric_registry import Metric
from playground.training.capabilities import FINE_TUNING, PRIVACY_GUARANTEE, ZEROES_WEIGHTS
from playground.training.techniques.base import Param, Technique, providers, register, titles


def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The layers of neurons (Linear, Conv2d); a model with none, a bag of words, is all word
    weights, so its embeddings. A BERT keeps its embeddings whole, as BERT pruning does."""
    layers = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return layers or [(m, "weight") for m in model.modules() if isinstance(m, nn.Embedding)]


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights among the prunable layers."""
    total = zeros = 0
    for module, name in prunable(model):
        w = getattr(module, name)
        total += w.numel()
        zeros += int((w == 0).sum())
    return zeros / max(1, total)


# Zeros compress away: results/shipped.py counts what only the non-zero weights need.
SPARSITY = Metric("sparsity", "Weights set to zero", fmt=percent, short="zeros",
                  help="Share of the weights that are exactly zero after pruning.")


@register
class Pruning(Technique):
    name = "pruning"
    title = "Pruning"
    description = ("After training, sets the smallest weights to exactly zero (the target "
                   "share across all layers), then optionally trains a little more with them "
                   "held at zero to win back accuracy. Zeros compress well and can be skipped "
                   "by sparse hardware; the dense file here keeps its size.")
    order = 80  # when its hooks run
    provides = (ZEROES_WEIGHTS, FINE_TUNING)
    metrics = (SPARSITY,)
    params = (
        Param("amount", 0.5, "Target share of weights set to zero.", 0.05, 0.95,
              flag="--prune", term="sparsity", sweep="0, 0.5, 0.8, 0.95",
              label="Share of weights set to zero"),
        Param("fine_tune_epochs", 2, "Extra epochs after pruning (0: none).", 0, 20,
              flag="--prune-fine-tune", label="Extra epochs after pruning"),
    )

    def check(self, config) -> list[str]:
        private = providers(config.techniques, PRIVACY_GUARANTEE)
        if self.s.fine_tune_epochs and private:
            # DP-SGD clips per-example gradients of the layers' own weights, which
            # pruning's masks replace; fine-tuning would also spend more privacy budget.
            return [f"{self.title}: extra training after pruning can't run with "
                    f"{titles(private)}; set it to 0 (pruning alone keeps the guarantee)"]
        return []

    def on_train_end(self, ctx) -> None:
        self.val_before = ctx.validate()[1]
        prune.global_unstructured(prunable(ctx.model), pruning_method=prune.L1Unstructured,
                                  amount=self.s.amount)
        self.val_pruned = ctx.validate()[1]

    def fine_tune_epochs(self) -> int:
        # The loop's "fine-tune" phase; the pruning masks stay attached through it, so the
        # zeros stay zero.
        return self.s.fine_tune_epochs

    def on_fit_end(self, ctx) -> None:
        for module, name in prunable(ctx.model):
            prune.remove(module, name)

    def finalize(self, ctx, metrics) -> None:
        metrics["sparsity"] = sparsity(ctx.model)
        metrics["pruning"] = {"target": self.s.amount, "val_accuracy_before": self.val_before,
                              "val_accuracy_pruned": self.val_pruned,
                              "fine_tune_epochs": self.s.fine_tune_epochs}

    terms = (
        Term("pruning", "Pruning",
             "Setting the smallest weights to exactly zero after training, then optionally "
             "training a little more to win back accuracy.",
             "Zeros compress well and special hardware can skip them, so pruned models can be "
             "smaller and faster; the dense file saved here keeps its size."),
        Term("sparsity", "Sparsity", "The share of weights that are exactly zero."),
    )
    lesson = Lesson(
        "Sets the smallest weights to exactly zero after training, then trains a little more "
        "to win back accuracy.",
        "Fewer non-zero weights (smaller once compressed, faster on hardware that skips "
        "zeros) against accuracy lost when too much is cut.",
        "A product that must run on phones, cameras or microcontrollers, where memory and "
        "battery are tight.",
        {"dataset": "digits", "model": "mlp", "epochs": 10, "prune": 0.8},
        "Try 50 %, 80 % and 95 %: find where accuracy starts to fall.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        if "sparsity" not in m or "pruning" not in m:
            return []
        p = m["pruning"]
        line = (f"Pruning set {m['sparsity']:.0%} of the weights to exactly zero. Validation "
                f"accuracy went from {percent(p['val_accuracy_before'])} to "
                f"{percent(p['val_accuracy_pruned'])} right after pruning")
        if p.get("fine_tune_epochs"):
            line += (f", and to {percent(m['val_accuracy'])} after {p['fine_tune_epochs']} "
                     "epochs of fine-tuning")
        return [line + ". The saved file keeps its size: the zeros pay off once it is "
                       "compressed or on hardware that skips them."]

    @classmethod
    def result(cls, run):
        m = run.metrics
        if "sparsity" not in m:
            return None
        p = m["pruning"]
        return Section(lines=(
            f"**Pruning**: {m['sparsity']:.0%} of the weights are now exactly zero. "
            f"Validation accuracy {percent(p['val_accuracy_before'])} before pruning, "
            f"{percent(p['val_accuracy_pruned'])} right after"
            + (f", then {p['fine_tune_epochs']} epochs of fine-tuning."
               if p["fine_tune_epochs"] else "."),))
