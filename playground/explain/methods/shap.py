"""SHAP (the `shap` library): share the answer out between the inputs like a fair split of a
prize (Shapley values); the shares add up to how far this answer is from the average one.

Float models go through `GradientExplainer` (expected gradients), int8 models, which have
no gradients, through the model-agnostic `KernelExplainer`. Both draw their samples from
numpy's global stream (shap 0.51 takes no generator; GradientExplainer seeds that stream
itself from `rseed`), so each call runs on a stream seeded for it and hands the caller's
stream back unchanged afterwards, like `torch.random.fork_rng` does for torch.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from playground.common.content import Term
from playground.explain.methods.base import (
    About,
    Attribution,
    Method,
    Subject,
    log_odds,
    register,
)


@contextmanager
def numpy_stream(seed: int) -> Iterator[None]:
    """numpy's global stream seeded for the duration of a library call, then restored."""
    saved = np.random.get_state()
    np.random.set_state(np.random.RandomState(seed).get_state())
    try:
        yield
    finally:
        np.random.set_state(saved)


class _TargetScore(nn.Module):
    """The model's log-odds for one class, as the single output SHAP explains."""

    def __init__(self, model: nn.Module, target: int):
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return log_odds(self.model(x))[:, self.target:self.target + 1]


def background_rows(subject: Subject, n: int, seed: int) -> np.ndarray:
    data = subject.background
    if n >= len(data):
        return data
    return data[np.random.default_rng(seed).choice(len(data), n, replace=False)]


@register
class Shap(Method):
    check_meaning = ("shares add to: SHAP splits the model's score for this example, minus "
                     "its average score, between the inputs; the shares should add up to "
                     "that difference (scores on a log scale: 0 is a coin toss)")
    name = "shap"
    title = "SHAP"
    order = 20
    libraries = ("shap",)
    default_on = True
    overall = True
    blurb = ("Shares the answer out between the inputs the way a fair split of a prize is "
             "worked out (Shapley values); the shares add up to how far this answer is from "
             "the average one.")
    defaults = {"gradient_nsamples": 200, "gradient_batch_size": 50, "gradient_background": 64,
                "kernel_nsamples": 600, "kernel_background": 10, "kernel_l1_reg": False,
                "seed": 0}
    library_defaults = {"kernel_nsamples": "auto", "kernel_l1_reg": "num_features(10)"}
    terms = (Term("shap", "SHAP",
                  "Splits one prediction fairly among the input features (Shapley values "
                  "from game theory): the parts add up to the prediction minus the average "
                  "prediction."),)

    def settings_for(self, values: dict[str, Any], about: About | None) -> dict[str, Any]:
        if "explainer" not in values:  # the model-agnostic one only where gradients are not
            values = {**values, "explainer": "kernel" if about is not None and about.quantized
                      else "gradient"}
        # Only the chosen explainer's knobs, so cache keys do not change with the other's.
        prefix = "kernel_" if values["explainer"] == "kernel" else "gradient_"
        return {k: v for k, v in values.items()
                if k in ("explainer", "seed") or k.startswith(prefix)}

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        if s["explainer"] == "kernel":
            return _kernel(subject, x, target, s)
        return _gradient(subject, x, target, s)

    def note(self, attribution: Attribution) -> str:
        e = attribution.extras
        if "base_value" not in e:
            return ""
        return (f"shares add to {float(attribution.values.sum()):+.2f} (log-odds "
                f"{e['model_output']:+.2f} here, {e['base_value']:+.2f} on average)")


def _gradient(subject: Subject, x: np.ndarray, target: int, s: dict):
    import shap  # imported when first used: it takes seconds, and the app never needs it

    rows = background_rows(subject, s["gradient_background"], s["seed"])
    background = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    wrapped = _TargetScore(subject.model, target).eval()
    explainer = shap.GradientExplainer(wrapped, background, batch_size=s["gradient_batch_size"])
    with numpy_stream(s["seed"]):
        values = explainer.shap_values(torch.from_numpy(x[None]),
                                       nsamples=s["gradient_nsamples"], rseed=s["seed"])
    base = float(subject.scores(rows)[:, target].mean())
    return np.asarray(values), {"explainer": "GradientExplainer (expected gradients)",
                                "base_value": base,
                                "model_output": float(subject.scores(x[None])[0, target])}


def _kernel(subject: Subject, x: np.ndarray, target: int, s: dict):
    import shap

    k = s["kernel_background"]
    summary = subject.remember(f"kmeans_{k}", lambda: shap.kmeans(
        subject.background.reshape(len(subject.background), -1), k))
    shape = x.shape

    def f(flat: np.ndarray) -> np.ndarray:
        return subject.scores(flat.reshape((-1, *shape)))[:, target]

    explainer = shap.KernelExplainer(f, summary)
    with numpy_stream(s["seed"]):  # the coalitions it samples
        values = explainer.shap_values(x.reshape(1, -1), nsamples=s["kernel_nsamples"],
                                       l1_reg=s["kernel_l1_reg"], silent=True)
    return np.asarray(values), {"explainer": "KernelExplainer (model-agnostic)",
                                "base_value": float(np.ravel(explainer.expected_value)[0]),
                                "model_output": float(f(x.reshape(1, -1))[0])}
