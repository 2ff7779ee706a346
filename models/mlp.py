"""Multi-layer perceptron: stacked fully connected layers with ReLU and dropout."""
from __future__ import annotations

import math

from torch import nn

from models.base import ModelInfo, ModelSpec, last_linear, register


def build(spec: ModelSpec) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    size = math.prod(spec.input_shape)
    for _ in range(spec.depth):
        layers += [nn.Linear(size, spec.width), nn.ReLU(), nn.Dropout(spec.dropout)]
        size = spec.width
    layers.append(nn.Linear(size, spec.n_classes))
    return nn.Sequential(*layers)


register(ModelInfo(
    "mlp", "Neural network (MLP)", ("image", "tabular", "points"),
    "Layers of neurons that can bend the boundary between classes. Width is neurons per "
    "layer, depth is the number of hidden layers.",
    build, uses_width_depth=True, default_lr=0.01, head=last_linear,
))
