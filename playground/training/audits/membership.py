"""Membership inference: could an attacker who holds the model tell whether a record was in
its training data?

The attack is the Adversarial Robustness Toolbox's MembershipInferenceBlackBox on the
per-example loss, with a random forest as the attack model: measured on digits against
the same attack on the model's output probabilities and with ART's gradient-boosting and
neural-network attack models (BENCHMARKS.md (f)), the loss-based attacks were the
strongest (random forest and gradient boosting within noise of each other, their order
changing with the draw of records) and among the fastest; the forest has 30 trees, not
ART's 100. Members are the run's own training examples, non-members the validation and test
examples it never trained on; as many of each (balanced). The attack model learns on half
of them and is scored on the other half, so its AUC is not flattered by what it memorised.

(ε, δ)-differential privacy bounds every such attack, whatever it is: for any threshold,
TPR ≤ e^ε·FPR + δ and 1 − FPR ≤ e^ε·(1 − TPR) + δ (Kairouz et al. 2015). `dp_tpr_bound`
is that curve; a private run's ROC is drawn under it.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn

from playground.common.formatting import percent
from playground.common.metric_registry import AUDIT, LOWER, Metric, declare
from playground.data.base import Dataset

STORED_UNDER = "privacy_attack"  # the run's metrics hold this audit's report here


def report(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """This audit's report in a run's metrics (None: not attacked)."""
    return (metrics or {}).get(STORED_UNDER) or None


ATTACKER_RIGHT, ATTACK_AUC = declare(
    "membership attack",
    Metric("attack_right", "Attacker right (50 % = chance)", better=LOWER, fmt=percent,
           read=lambda m: 0.5 + report(m)["advantage"] / 2,
           help="How often an attacker holding the model guessed correctly whether a record "
                "was in its training data: 50 % is a coin toss."),
    Metric("attack_auc", "Privacy leak: membership attack AUC", better=LOWER, fmt=".2f",
           pareto="cost", short="attack AUC", read=lambda m: report(m)["auc"],
           help="How well an attacker tells who was in the training data: 0.5 is a coin "
                "toss, lower leaks less."),
    section=AUDIT, module=__name__)

ATTACK = "ART MembershipInferenceBlackBox (loss, random forest)"
MAX_RECORDS = 1000  # per side: enough for a stable AUC, cheap on every run
TREES = 30


def dp_tpr_bound(fpr: np.ndarray | float, epsilon: float, delta: float) -> np.ndarray:
    """The highest true-positive rate any attack can reach at this false-positive rate
    against an (ε, δ)-differentially private training algorithm."""
    fpr = np.asarray(fpr, dtype=float)
    e = math.exp(epsilon)
    return np.clip(np.minimum(e * fpr + delta, 1 - (1 - delta - fpr) / e), 0.0, 1.0)


def _classifier(model: nn.Module, data: Dataset, device: torch.device):
    from art.estimators.classification import PyTorchClassifier  # ~5 s to import: audits only

    return PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(),
                             input_shape=data.input_shape, nb_classes=data.n_classes,
                             device_type="gpu" if device.type == "cuda" else "cpu")


def records(data: Dataset, seed: int) -> tuple[np.ndarray, ...]:
    """Balanced members (training examples) and non-members (validation and test)."""
    Xn = np.concatenate([data.X_val, data.X_test])
    yn = np.concatenate([data.y_val, data.y_test])
    n = min(len(data.X_train), len(Xn), MAX_RECORDS)
    rng = np.random.default_rng(seed)
    im, inn = rng.permutation(len(data.X_train))[:n], rng.permutation(len(Xn))[:n]
    return data.X_train[im], data.y_train[im], Xn[inn], yn[inn]


def attack_model(seed: int):
    """ART's "rf" attack model with 30 trees instead of 100: the same AUC within noise on
    digits, at a third of the time (every run pays it)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=TREES, random_state=seed)


def with_forest(attack, seed: int):
    """The attack with our forest. Set after construction: ART 1.20 checks a given
    attack_model with `if attack_model:`, which an unfitted scikit-learn forest can't answer
    (its len() needs the trees)."""
    attack.attack_model = attack_model(seed)
    return attack


def attack_scores(model: nn.Module, data: Dataset, device: torch.device, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(is member, the attack's membership score) for the held-out half of the records."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

    Xm, ym, Xn, yn = records(data, seed)
    half = len(Xm) // 2
    attack = with_forest(MembershipInferenceBlackBox(
        _classifier(model, data, device), input_type="loss", attack_model_type="rf"), seed)
    attack.fit(Xm[:half], ym[:half], Xn[:half], yn[:half])
    members = attack.infer(Xm[half:], ym[half:], probabilities=True).ravel()
    others = attack.infer(Xn[half:], yn[half:], probabilities=True).ravel()
    truth = np.concatenate([np.ones(len(members)), np.zeros(len(others))])
    return truth, np.concatenate([members, others])


def summarise(truth: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    fpr, tpr, _ = roc_curve(truth, scores)  # the corners only: the curve joins them
    low = tpr[fpr <= 0.01]
    return {
        "auc": float(roc_auc_score(truth, scores)),
        "advantage": float(np.max(tpr - fpr)),
        "tpr_at_1pct_fpr": float(low.max()) if len(low) else 0.0,
        "roc": [[round(float(f), 4), round(float(t), 4)] for f, t in zip(fpr, tpr, strict=True)],
        "records": int(len(truth)),
    }


def promised(bound: dict[str, Any]) -> tuple[float, float]:
    """(ε, δ) of a report's `dp_bound`: the promise its ROC is drawn under."""
    return bound["epsilon"], bound["delta"]


def audit(model: nn.Module, data: Dataset, device: torch.device, seed: int,
          epsilon: float | None = None, delta: float | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    model.eval()
    truth, scores = attack_scores(model, data, device, seed)
    result = summarise(truth, scores)
    # The attack model learned on as many other records (the first half of each side).
    result.update(attack=ATTACK, attack_trained_on=result["records"])
    if epsilon is not None and delta is not None:
        fpr, tpr = np.array(result["roc"]).T
        bound = dp_tpr_bound(fpr, epsilon, delta)
        result["dp_bound"] = {"epsilon": epsilon, "delta": delta,
                              "holds": bool(np.all(tpr <= bound + 1e-9))}
    result["seconds"] = time.perf_counter() - started
    return result
