"""Robustness: could a tiny, deliberate change to an input fool the model?

FGSM (one step along the sign of the loss gradient) and PGD (several smaller steps, each
projected back into the allowed distance) from the Adversarial Robustness Toolbox, on test
examples, at the run's attack strength: how far each pixel (images, 0-1 scale) or
standardised feature (tables) may move. PGD starts where FGSM does and keeps going, so it
is the stronger attack; accuracy under it is the number to trust.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from playground.data.base import Dataset

ATTACK = "ART FastGradientMethod and ProjectedGradientDescent"
# Test examples attacked and PGD's steps: with the default CNN these cost about a tenth of
# its training (the goal for all audits together is ≤ 0.3; BENCHMARKS.md (f)).
EXAMPLES = 100
PGD_STEPS = 6


def classifier(model: nn.Module, data: Dataset, device: torch.device):
    from art.estimators.classification import PyTorchClassifier  # ~5 s to import: audits only

    clip = (0.0, 1.0) if data.info.kind == "image" else None  # pictures stay pictures
    return PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(),
                             input_shape=data.input_shape, nb_classes=data.n_classes,
                             clip_values=clip,
                             device_type="gpu" if device.type == "cuda" else "cpu")


def fgsm(clf, strength: float):
    from art.attacks.evasion import FastGradientMethod

    return FastGradientMethod(clf, eps=strength, batch_size=256)


def pgd(clf, strength: float):
    from art.attacks.evasion import ProjectedGradientDescent

    return ProjectedGradientDescent(clf, eps=strength, eps_step=strength / 3,
                                    max_iter=PGD_STEPS, batch_size=256, verbose=False)


def audit(model: nn.Module, data: Dataset, device: torch.device, strength: float,
          note: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    model.eval()
    clf = classifier(model, data, device)
    X, y = data.X_test[:EXAMPLES], data.y_test[:EXAMPLES]

    def accuracy(inputs: np.ndarray) -> float:
        return float((clf.predict(inputs, batch_size=512).argmax(1) == y).mean())

    result: dict[str, Any] = {
        "strength": strength, "examples": int(len(y)), "attack": ATTACK,
        "moves": "pixel" if data.info.kind == "image" else "standardised feature",
        "clean_accuracy": accuracy(X),
        "fgsm": {"accuracy": accuracy(fgsm(clf, strength).generate(X, y))},
        "pgd": {"accuracy": accuracy(pgd(clf, strength).generate(X, y)), "steps": PGD_STEPS},
    }
    if note:
        result["note"] = note
    result["seconds"] = time.perf_counter() - started
    return result
