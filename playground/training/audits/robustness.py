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

from playground.common.formatting import percent
from playground.common.metric_registry import AUDIT, LOWER, Metric, declare
from playground.data.base import Dataset

STORED_UNDER = "robustness"  # the run's metrics hold this audit's report here


def report(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """This audit's report in a run's metrics (None: not attacked)."""
    return (metrics or {}).get(STORED_UNDER) or None


FGSM_RIGHT, PGD_RIGHT, PGD_ERRORS = declare(
    "robustness attack",
    Metric("fgsm_accuracy", "Right under FGSM", fmt=percent,
           read=lambda m: report(m)["fgsm"]["accuracy"],
           help="Share of attacked test examples still right after one step (FGSM)."),
    Metric("pgd_accuracy", "Right under PGD", fmt=percent,
           read=lambda m: report(m)["pgd"]["accuracy"],
           help="Share of attacked test examples still right after several steps (PGD)."),
    Metric("pgd_errors", "Share fooled by PGD (a small deliberate change)", better=LOWER,
           fmt=percent, pareto="cost", table=False, short="fooled by PGD",
           read=lambda m: 1.0 - report(m)["pgd"]["accuracy"],
           help="Share of test examples a small deliberate change (PGD) makes the model get "
                "wrong: lower is more robust."),
    section=AUDIT, module=__name__)

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
