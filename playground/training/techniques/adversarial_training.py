"""Adversarial training: the model learns from attacked copies of its own batches.

Each batch is replaced by the fast FGSM variant of "Fast is better than free" (Wong et al.
2020): a random start inside the allowed distance, then one step of 1.25 × the strength
along the sign of the loss gradient, projected back; generated with the Adversarial
Robustness Toolbox's FastGradientMethod (num_random_init=1). One extra forward and backward
pass per step, where PGD training (Madry et al.) would cost several.

It is refused beside per-example gradient clipping (DP-SGD): the attack's backward pass
runs through the model that is instrumented for per-example gradients, so what is clipped
(and what ε counts) would no longer be the training step alone.
"""
from __future__ import annotations

import time

import torch

from playground.common.content import Lesson, Section, Term, Tile
from playground.common.formatting import percent
from playground.training.audits import robustness
from playground.training.capabilities import BATCH_CHANGE, PER_EXAMPLE_GRADIENTS, Conflict
from playground.training.techniques.base import (
    Param,
    PlainChoice,
    Technique,
    finished_twin,
    register,
    without,
)


def plain_twin(config):
    """The same run without adversarial training: what it costs and buys is measured there."""
    return without(config, "adversarial_training")


@register
class AdversarialTraining(Technique):
    name = "adversarial_training"
    title = "Adversarial training"
    short_title = "adversarial training"
    description = ("Trains on deliberately attacked copies of the examples (each pixel or "
                   "feature nudged in the direction that fools the model most), so tiny "
                   "malicious changes stop working. Costs training time and usually some "
                   "accuracy on clean inputs.")
    order = 15  # on the batch augmentation made, before distillation's teacher sees it
    harder_batches = True
    kinds = ("image", "tabular")
    not_for = {"text": "a sentence is made of whole words, and a tiny nudge to a word's "
                       "number is no word at all, so there is no small change to train against"}
    per_step = frozenset({"on_batch"})
    provides = (BATCH_CHANGE,)
    conflicts = (Conflict(PER_EXAMPLE_GRADIENTS,
                          "the attack's extra pass through the model would be mixed into the "
                          "per-example gradients that are clipped, so ε would no longer hold"),)
    params = (Param("strength", 0.1, "How far the attacked copies may move each pixel (0-1 "
                    "scale) or standardised feature.", 0.01, 1.0,
                    flag="--adversarial-training", term="adversarial_example",
                    sweep="0.05, 0.1, 0.2", label="Attack strength while training"),)
    plain = PlainChoice(
        "Harder to fool", "Against how strong an attacker?",
        (("a weak one", {"strength": 0.05}), ("medium", {"strength": 0.1}),
         ("a strong one", {"strength": 0.2})),
        cost="Trains slower and usually gets a little less right on ordinary inputs.",
        default=1, rank=40)

    @classmethod
    def companions(cls, config):
        return [plain_twin(config)]

    def on_optimizer(self, ctx) -> None:
        from art.attacks.evasion import FastGradientMethod

        clf = robustness.classifier(ctx.model, ctx.data, ctx.device)
        s = self.s.strength
        self.attack = FastGradientMethod(clf, eps=s, eps_step=1.25 * s, num_random_init=1,
                                         batch_size=ctx.bs)
        self.seconds = 0.0

    def on_batch(self, ctx, xb, yb):
        started = time.perf_counter()
        x = self.attack.generate(xb.detach().cpu().numpy(), yb.detach().cpu().numpy())
        ctx.model.train()  # the attack scored the model in eval mode
        self.seconds += time.perf_counter() - started
        return torch.from_numpy(x).to(xb.device, xb.dtype), yb

    def finalize(self, ctx, metrics) -> None:
        twin = finished_twin(ctx.store, plain_twin(ctx.config))
        metrics["adversarial_training"] = {
            "strength": self.s.strength, "attack_seconds": self.seconds,
            "method": "fast FGSM (random start, step 1.25 × strength), ART FastGradientMethod",
            "baseline_run_id": twin.id if twin else None,
        }

    terms = (
        Term("adversarial_example", "Adversarial example",
             "An input changed on purpose, by an amount too small for a person to notice, so "
             "that the model gets it wrong.",
             "Attackers follow the model's own gradient to find the change. The playground "
             "measures how far each pixel or feature may move (the strength)."),
        Term("adversarial_training", "Adversarial training",
             "Training on attacked copies of the examples so small malicious changes stop "
             "fooling the model.",
             "It costs extra training time (an attack per batch) and often some clean "
             "accuracy; it buys accuracy under attack (PGD)."),
    )
    lesson = Lesson(
        "Trains on attacked copies of the examples, so tiny deliberate changes to an input "
        "stop fooling the model.",
        "Accuracy under attack, against training time (an attack per batch) and usually a "
        "little accuracy on ordinary inputs.",
        "A company whose model screens uploaded documents or photos, where someone has a "
        "reason to slip a doctored one through.",
        {"dataset": "digits", "model": "cnn", "epochs": 10, "adversarial_training": 0.1},
        "Compare it with the same model trained plainly: clean accuracy, and accuracy under "
        "the PGD attack on the run card.")

    @classmethod
    def label(cls, settings):
        return f"adversarial {settings.get('strength', 0.1):g}"

    @classmethod
    def result(cls, run):
        rob = run.metrics.get("robustness")
        if not rob:
            return None
        strength = run.metrics.get("adversarial_training", {}).get("strength", 0.0)
        return Section(
            lines=(f"**Adversarial training** at strength {strength:g}: under the strongest "
                   f"attack (PGD) it still gets {percent(rob['pgd']['accuracy'])} right.",),
            tiles=(Tile("Clean accuracy", percent(rob["clean_accuracy"])),
                   Tile("Under PGD attack", percent(rob["pgd"]["accuracy"]))))
