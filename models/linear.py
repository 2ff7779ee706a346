"""Logistic regression: one linear layer, the simplest baseline."""
from __future__ import annotations

import math

from torch import nn

from models.base import ModelInfo, ModelSpec, last_linear, register


def build(spec: ModelSpec) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Dropout(spec.dropout),  # drops input features; the only place a linear model can
        nn.Linear(math.prod(spec.input_shape), spec.n_classes),
    )


register(ModelInfo(
    "logreg", "Logistic regression", ("image", "tabular", "points"),
    "One weighted sum per class. Fast and easy to read, but it can only draw straight "
    "boundaries between classes.",
    build, linear=True, default_lr=0.05, head=last_linear,
))
