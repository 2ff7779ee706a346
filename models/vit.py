"""A tiny Vision Transformer built from a `transformers` config and trained from scratch.

No pretrained weights: `ViTConfig` describes the architecture and the weights start random.
"""
from __future__ import annotations

import torch
from torch import nn

from models.base import ModelInfo, ModelSpec, register


class TinyViT(nn.Module):
    """Wraps ViTForImageClassification so that forward() returns plain logits."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        # Imported here: transformers takes seconds to import and only this model needs it.
        from transformers import ViTConfig, ViTForImageClassification

        channels, height, _ = spec.input_shape
        heads = 4
        hidden = max(heads, spec.width - spec.width % heads)
        config = ViTConfig(
            image_size=height, patch_size=2, num_channels=channels,
            hidden_size=hidden, num_hidden_layers=spec.depth, num_attention_heads=heads,
            intermediate_size=2 * hidden, hidden_dropout_prob=spec.dropout,
            attention_probs_dropout_prob=spec.dropout, num_labels=spec.n_classes,
        )
        self.vit = ViTForImageClassification(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vit(pixel_values=x).logits


register(ModelInfo(
    "vit", "Tiny Vision Transformer (ViT)", ("image",),
    "Cuts the picture into 2×2 patches and lets every patch attend to every other, the "
    "design behind today's large vision models, shrunk to fit a laptop.",
    TinyViT, uses_width_depth=True, default_lr=0.003,
    head=lambda model: "vit.classifier",  # transformers' classification head
))
