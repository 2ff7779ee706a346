"""Data augmentation: new variations of the training examples at every step.

Images: a random rotation, shift and scale drawn per example and applied to the whole batch
at once (one affine grid), then torchvision transforms.v2 Gaussian noise. Calling
v2.RandomAffine once per example cost ~2 ms each here, which made a 1 s run 20 s long.
Tabular and 2-D points: Gaussian feature noise and mixup. Training batches
only; validation and test data are never touched.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from playground.common.content import Lesson, Section, Term
from playground.training.capabilities import BATCH_CHANGE, PRIVACY_GUARANTEE
from playground.training.techniques.base import Param, Technique, register


@register
class Augmentation(Technique):
    name = "augmentation"
    title = "Data augmentation"
    description = ("Shows the model slightly changed copies of the training examples (a "
                   "digit turned or shifted a little, a measurement with a bit of noise), so "
                   "it learns what matters instead of memorising. Helps most when data is "
                   "scarce.")
    order = 10  # when its hooks run
    harder_batches = True
    regularises = True
    per_step = frozenset({"on_batch"})
    provides = (BATCH_CHANGE,)
    params = (Param("strength", 0.5, "How far the copies may differ from the originals.",
                    0.0, 1.0, flag="--augment", sweep="0.2, 0.5, 1"),)

    def on_model(self, ctx) -> None:
        s = self.s.strength
        self.image = ctx.data.info.kind == "image"
        if self.image:
            from torchvision.transforms import v2

            self.noise = v2.GaussianNoise(mean=0.0, sigma=0.08 * s, clip=False)
        self.generator = torch.Generator(device="cpu").manual_seed(ctx.config.seed + 1)
        # Mixup blends two people's rows into one example; a privacy guarantee bounds each
        # example's influence, so one person in two blends would be counted once: ε would
        # be wrong.
        self.mixup = not self.image and not ctx.provides(PRIVACY_GUARANTEE)

    def on_batch(self, ctx, xb, yb):
        if self.s.strength == 0:
            return xb, yb
        if self.image:
            return self.noise(self._affine(xb)), yb
        noise = torch.randn(xb.shape, generator=self.generator).to(xb.device)
        xb = xb + 0.3 * self.s.strength * noise
        if not self.mixup:
            return xb, yb
        # Mixup: blend pairs of examples and their labels.
        alpha = 0.4 * self.s.strength
        lam = torch.distributions.Beta(alpha, alpha).sample((len(xb), 1)).to(xb.device)
        perm = torch.randperm(len(xb), generator=self.generator).to(xb.device)
        targets = F.one_hot(yb, ctx.data.n_classes).float()
        return lam * xb + (1 - lam) * xb[perm], lam * targets + (1 - lam) * targets[perm]

    def _affine(self, xb: torch.Tensor) -> torch.Tensor:
        """Rotate (±15°), shift (±12 %) and scale (±15 %) each image by its own amounts."""
        n, s = len(xb), self.s.strength

        def uniform(limit: float) -> torch.Tensor:
            return ((torch.rand(n, generator=self.generator) * 2 - 1) * limit).to(xb.device)

        angle = uniform(torch.pi / 12 * s)
        scale = 1 + uniform(0.15 * s)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([
            torch.stack([cos, -sin, uniform(0.24 * s)], dim=1),
            torch.stack([sin, cos, uniform(0.24 * s)], dim=1),
        ], dim=1)
        grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
        return F.grid_sample(xb, grid, align_corners=False, padding_mode="zeros")

    def finalize(self, ctx, metrics) -> None:
        if not self.image and not self.mixup:
            metrics["augmentation_note"] = (
                "Augmentation added feature noise only: mixup, which blends two rows into "
                "one, is off with privacy noise, because ε counts each person in one "
                "training example.")

    terms = (Term("augmentation", "Data augmentation",
                  "Training on slightly changed copies of the examples (a digit turned a "
                  "little, a measurement with some noise), so the model learns what matters.",
                  "It helps most when data is scarce. For tables the playground adds noise and "
                  "mixup (blending two examples and their labels)."),)
    lesson = Lesson(
        "Trains on slightly changed copies of the examples (turned, shifted, a little noise) "
        "so the model learns what matters, not the exact pictures.",
        "More accuracy from scarce data, against longer training and changes that must make "
        "sense for the data (a 6 turned upside down is a 9).",
        "A start-up with a few hundred labelled photos of product defects, where labelling "
        "more is slow and expensive.",
        {"dataset": "digits", "model": "cnn", "epochs": 15, "train_fraction": 0.2,
         "augment": 0.5},
        "Train it again with augmentation off: with only 20 % of the data the gap shows.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        note = run.metrics.get("augmentation_note")
        return [note] if note else []

    @classmethod
    def result(cls, run):
        note = run.metrics.get("augmentation_note")
        return Section(notes=(note,)) if note else None
