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

from playground.training.techniques.base import Param, Technique, register


@register
class Augmentation(Technique):
    name = "augmentation"
    title = "Data augmentation"
    description = ("Shows the model slightly changed copies of the training examples (a "
                   "digit turned or shifted a little, a measurement with a bit of noise), so "
                   "it learns what matters instead of memorising. Helps most when data is "
                   "scarce.")
    params = (Param("strength", 0.5, "How far the copies may differ from the originals.",
                    0.0, 1.0, flag="--augment"),)
    measures = ("gap between training and validation accuracy",)

    def on_model(self, ctx) -> None:
        s = self.strength
        self.image = ctx.data.info.kind == "image"
        if self.image:
            from torchvision.transforms import v2

            self.noise = v2.GaussianNoise(mean=0.0, sigma=0.08 * s, clip=False)
        self.generator = torch.Generator(device="cpu").manual_seed(ctx.config.seed + 1)
        # Mixup blends two people's rows into one example; DP-SGD bounds each example's
        # influence, so one person in two blends would be counted once: ε would be wrong.
        self.mixup = not self.image and "dp" not in ctx.config.techniques

    def on_batch(self, ctx, xb, yb):
        if self.strength == 0:
            return xb, yb
        if self.image:
            return self.noise(self._affine(xb)), yb
        noise = torch.randn(xb.shape, generator=self.generator).to(xb.device)
        xb = xb + 0.3 * self.strength * noise
        if not self.mixup:
            return xb, yb
        # Mixup: blend pairs of examples and their labels.
        alpha = 0.4 * self.strength
        lam = torch.distributions.Beta(alpha, alpha).sample((len(xb), 1)).to(xb.device)
        perm = torch.randperm(len(xb), generator=self.generator).to(xb.device)
        targets = F.one_hot(yb, ctx.data.n_classes).float()
        return lam * xb + (1 - lam) * xb[perm], lam * targets + (1 - lam) * targets[perm]

    def _affine(self, xb: torch.Tensor) -> torch.Tensor:
        """Rotate (±15°), shift (±12 %) and scale (±15 %) each image by its own amounts."""
        n, s = len(xb), self.strength

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
