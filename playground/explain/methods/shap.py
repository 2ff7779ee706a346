"""SHAP (the `shap` library): share the answer out between the inputs like a fair split of a
prize (Shapley values); the shares add up to how far this answer is from the average one.

Float models go through `GradientExplainer` (expected gradients), int8 models, which have
no gradients, through the model-agnostic `KernelExplainer`. Both draw their samples from
numpy's global stream (shap 0.51 takes no generator; GradientExplainer seeds that stream
itself from `rseed`), so each call runs on a stream seeded for it and hands the caller's
stream back unchanged afterwards, like `torch.random.fork_rng` does for torch.

Sentences go through SHAP's text masker (`shap.maskers.Text`) and its Partition explainer,
over the run's own words (a small tokenizer wrapper in the shape the masker documents); a
hidden word is removed (the wrapper's mask token is empty), so the shares add up to the
sentence's score minus the score of the sentence with every word gone.
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
    KINDS,
    TEXT,
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


class WordTokenizer:
    """The run's words in the minimal tokenizer shape shap's text masker takes: "input_ids"
    (here the words themselves) and their character "offset_mapping"; the empty mask token
    makes a hidden word disappear rather than stand in as a made-up token."""

    mask_token = ""
    mask_token_id = -1  # never looked up: the masker's string output uses mask_token

    def __init__(self, subject: Subject):
        self.subject = subject

    def __call__(self, s: str, return_offsets_mapping: bool = True) -> dict[str, list]:
        words = self.subject.require_coder().words(s)
        out: dict[str, list] = {"input_ids": [w for w, _, _ in words]}
        if return_offsets_mapping:
            out["offset_mapping"] = [(a, b) for _, a, b in words]
        return out


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
    modality = KINDS | {TEXT}
    blurb = ("Shares the answer out between the inputs the way a fair split of a prize is "
             "worked out (Shapley values); the shares add up to how far this answer is from "
             "the average one.")
    defaults = {"gradient_nsamples": 200, "gradient_batch_size": 50, "gradient_background": 64,
                "kernel_nsamples": 600, "kernel_background": 10, "kernel_l1_reg": False,
                "text_max_evals": 300, "seed": 0}
    library_defaults = {"kernel_nsamples": "auto", "kernel_l1_reg": "num_features(10)",
                        "text_max_evals": 500}
    terms = (Term("shap", "SHAP",
                  "Splits one prediction fairly among the input features (Shapley values "
                  "from game theory): the parts add up to the prediction minus the average "
                  "prediction."),)

    def settings_for(self, values: dict[str, Any], about: About | None) -> dict[str, Any]:
        if "explainer" not in values:  # the model-agnostic one only where gradients are not
            if about is not None and about.kind == TEXT:
                chosen = "text"
            else:
                chosen = "kernel" if about is not None and about.quantized else "gradient"
            values = {**values, "explainer": chosen}
        # Only the chosen explainer's knobs, so cache keys do not change with the other's.
        prefix = f"{values['explainer']}_"
        return {k: v for k, v in values.items()
                if k in ("explainer", "seed") or k.startswith(prefix)}

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        if s["explainer"] == "kernel":
            return _kernel(subject, x, target, s)
        return _gradient(subject, x, target, s)

    def attribute_text(self, subject: Subject, text: str, target: int, s: dict):
        import shap

        def f(texts) -> np.ndarray:
            return subject.text_scores(list(texts))[:, target]

        masker = shap.maskers.Text(WordTokenizer(subject))
        explainer = shap.explainers.Partition(f, masker)
        with numpy_stream(s["seed"]):
            result = explainer([text], max_evals=s["text_max_evals"], silent=True)
        return np.asarray(result.values[0]), {
            "explainer": "Partition explainer over the text masker",
            "base_value": float(np.ravel(result.base_values)[0]),
            "model_output": float(f([text])[0])}

    def note(self, attribution: Attribution) -> str:
        e = attribution.extras
        if "base_value" not in e:
            return ""
        # A sentence's reference is the sentence with every word removed, not an average.
        reference = "with no words" if attribution.words is not None else "on average"
        return (f"shares add to {float(attribution.values.sum()):+.2f} (log-odds "
                f"{e['model_output']:+.2f} here, {e['base_value']:+.2f} {reference})")


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
