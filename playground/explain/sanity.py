"""The model-randomisation sanity check (Adebayo et al., "Sanity Checks for Saliency Maps",
NeurIPS 2018).

An explanation is meant to show what the trained model learned. Explain the same input
with the same architecture carrying random weights: a method that passes draws a
different map; a method whose map barely changes is showing the input (its edges, its
bright pixels), not the model. The score is the rank correlation of the two maps'
importances: low is good.

Features that both maps leave at exactly zero are left out of the score: a method that
multiplies by the input (Integrated Gradients) gives a blank pixel zero whatever the
weights, and counting those ties as agreement would say nothing about the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.explain.agreement import rank_correlation

PASS_BELOW = 0.5  # rho under this: the trained and random maps clearly differ
WARN_ABOVE = 0.8  # rho over this: the map hardly depends on the weights


@dataclass(frozen=True)
class SanityResult:
    method: str
    rho: float  # similarity of the trained and the randomised model's maps
    verdict: str  # passes, partly, fails
    sentence: str


def similarity(trained: np.ndarray, randomised: np.ndarray) -> float:
    a, b = np.ravel(trained), np.ravel(randomised)
    said = (a != 0) | (b != 0)
    return rank_correlation(a[said], b[said]) if said.any() else 1.0


def judge(method_title: str, trained: np.ndarray, randomised: np.ndarray) -> SanityResult:
    rho = similarity(trained, randomised)
    if rho < PASS_BELOW:
        verdict, words = "passes", ("looks clearly different on a model with random weights, "
                                    "so it reflects what this model learned")
    elif rho <= WARN_ABOVE:
        verdict, words = "partly", ("still resembles the map of a model with random weights: "
                                    "part of it comes from the input itself, not the model")
    else:
        verdict, words = "fails", ("looks almost the same on a model with random weights: it "
                                   "shows the input more than what the model learned")
    return SanityResult(method_title, rho, verdict,
                        f"{method_title} {words} (similarity ρ = {rho:.2f}).")
