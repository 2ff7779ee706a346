"""A small convolutional network for the 8x8 images."""
from __future__ import annotations

from torch import nn

from models.base import ModelInfo, ModelSpec, last_linear, register


def build(spec: ModelSpec) -> nn.Module:
    channels, height, width = spec.input_shape
    return nn.Sequential(
        nn.Conv2d(channels, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(spec.dropout),
        nn.Linear(32 * (height // 2) * (width // 2), 64),
        nn.ReLU(),
        nn.Dropout(spec.dropout),
        nn.Linear(64, spec.n_classes),
    )


register(ModelInfo(
    "cnn", "Small image network (CNN)", ("image",),
    "Slides small pattern detectors over the picture, so a stroke is recognised wherever "
    "it appears. The usual choice for images.",
    build, default_lr=0.01, head=last_linear,
))
