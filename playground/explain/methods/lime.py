"""LIME (the `lime` library): switch parts of the input off at random, many times, and fit a
weighted straight-line model to how the answer moves.

Tables go through `LimeTabularExplainer`, made for each call with its own random stream, so
the same input and seed give the same map (a kept explainer would carry its discretizer's
stream on from the last call). Images go through LIME's own sampler-free core,
`lime_base.LimeBase`, fed the same perturbations `LimeImageExplainer` draws (same stream,
same order, same kernel), without its per-image progress bar and about ten times faster:
the masks are applied to the whole batch at once instead of one image at a time.
Sentences go through `LimeTextExplainer`, which drops words at random; its words are the
run's tokenizer's words as typed (one feature per place in the sentence, so "not ... not"
counts twice), and a dropped word becomes a space, not a made-up word: removed, yet its
neighbours stay apart ("<b>great" without ">" must not read "bgreat").
"""
from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np

from playground.common.content import Term
from playground.explain.methods.base import (
    KINDS,
    TEXT,
    About,
    Attribution,
    Method,
    Subject,
    register,
)

IMAGE_ONLY = ("batch_size", "patch", "hide_color")
TABLE_ONLY = ("discretize",)
TEXT_KEEPS = ("num_samples", "seed")
KERNEL_WIDTH = 0.25  # LimeImageExplainer's default
EVERY_FEATURE = 100000  # LimeImageExplainer's default num_features: keep every segment's weight


def grid_segments(height: int, width: int, patch: int) -> np.ndarray:
    """Segment ids for square patches (patch=1: every pixel its own segment).

    LIME's default segmentation (quickshift) is made for photos; on an 8x8 digit it finds
    a single segment (see `make bench`), so the playground cuts a grid instead.
    """
    rows, cols = np.indices((height, width))
    per_row = -(-width // patch)
    return (rows // patch) * per_row + cols // patch


def _given(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments that are set; None leaves the library's own default in place."""
    return {k: v for k, v in kwargs.items() if v is not None}


def _kernel(d: np.ndarray, kernel_width: float) -> np.ndarray:
    return np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))


@register
class Lime(Method):
    check_meaning = ("local fit R²: how closely LIME's simple stand-in follows the model "
                     "around this example (1 is a perfect match; below about 0.5 its bars "
                     "say little about the model)")
    name = "lime"
    title = "LIME"
    order = 10
    libraries = ("lime.lime_base", "lime.lime_tabular", "sklearn.metrics")
    default_on = True
    modality = KINDS | {TEXT}
    blurb = ("Switches parts of the input off at random, many times, and fits a simple "
             "straight-line model to how the answer moves.")
    defaults = {"num_samples": 1000, "batch_size": 1000, "patch": 1, "hide_color": 0.0,
                "discretize": True, "seed": 0}
    library_defaults = {"num_samples": None, "batch_size": None, "patch": None,
                        "hide_color": None}
    terms = (Term("lime", "LIME",
                  "Explains one prediction by nudging the input many times and fitting a "
                  "simple model to how the answer changes nearby.",
                  "It needs no access to the model's insides, so it also works on quantized "
                  "models."),)

    def settings_for(self, values: dict[str, Any], about: About | None) -> dict[str, Any]:
        if about is None:
            return values
        if about.kind == TEXT:
            return {k: v for k, v in values.items() if k in TEXT_KEEPS}
        drop = TABLE_ONLY if about.kind == "image" else IMAGE_ONLY
        return {k: v for k, v in values.items() if k not in drop}

    def library_defaults_for(self, about: About | None) -> dict[str, Any]:
        # LimeImageExplainer samples 1000 by default, the tabular and text ones 5000.
        image = about is None or about.kind == "image"
        return {**self.library_defaults, "num_samples": 1000 if image else 5000}

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        if subject.kind == "image":
            return _image(subject, x, target, s)
        return _table(subject, x, target, s)

    def attribute_text(self, subject: Subject, text: str, target: int, s: dict):
        from lime.lime_text import LimeTextExplainer

        explainer = LimeTextExplainer(
            class_names=subject.class_names, split_expression=subject.words, bow=False,
            mask_string=" ", random_state=np.random.RandomState(s["seed"]))
        n = len(subject.words(text))
        exp = explainer.explain_instance(text, subject.text_scores, labels=(target,),
                                         num_features=n,
                                         **_given(num_samples=s["num_samples"]))
        values = np.zeros(n)
        for word, weight in exp.local_exp[target]:
            values[word] = weight
        return values, {"intercept": float(np.ravel(exp.intercept[target])[0]),
                        "fit_r2": float(exp.score)}

    def note(self, attribution: Attribution) -> str:
        if "fit_r2" not in attribution.extras:
            return ""
        return f"local fit R² {attribution.extras['fit_r2']:.2f}"


def _table(subject: Subject, x: np.ndarray, target: int, s: dict) -> tuple[np.ndarray, dict]:
    # imported when first used: it takes seconds, and the app's server never explains
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(
        subject.background, feature_names=subject.feature_names,
        class_names=subject.class_names, discretize_continuous=s["discretize"],
        random_state=np.random.RandomState(s["seed"]))
    with warnings.catch_warnings():
        # LIME checks for probabilities; it regresses on any score, here log-odds.
        warnings.filterwarnings("ignore", message=r"\s*Prediction probabilties do not sum")
        exp = explainer.explain_instance(x, subject.scores, labels=(target,),
                                         num_features=x.size,
                                         **_given(num_samples=s["num_samples"]))
    values = np.zeros(x.size)
    for feature, weight in exp.local_exp[target]:
        values[feature] = weight
    return values, {"intercept": float(np.ravel(exp.intercept[target])[0]),
                    "fit_r2": float(exp.score)}


def _segments(x: np.ndarray, patch: int | None, seed: int) -> np.ndarray:
    channels, height, width = x.shape
    if patch:
        return grid_segments(height, width, patch)
    # LIME's own default: quickshift on the picture as RGB, as LimeImageExplainer cuts it.
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    image = np.repeat(x[:1], 3, axis=0) if channels == 1 else x[:3]
    quickshift = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2,
                                       random_seed=seed)
    return quickshift(np.moveaxis(image, 0, -1).astype(np.float64))


def _image(subject: Subject, x: np.ndarray, target: int, s: dict) -> tuple[np.ndarray, dict]:
    """LimeImageExplainer.explain_instance's steps, on LIME's own core (see the docstring)."""
    from lime import lime_base
    from sklearn.metrics import pairwise_distances

    rng = np.random.RandomState(s["seed"])
    segments = _segments(x, s["patch"], s["seed"])
    n = np.unique(segments).shape[0]
    hidden = np.empty_like(x, dtype=np.float64)  # what a switched-off segment shows
    if s["hide_color"] is None:  # LIME's default: each segment's mean colour
        for segment in range(n):
            inside = segments == segment
            hidden[:, inside] = x[:, inside].mean(axis=1, keepdims=True)
    else:
        hidden[:] = s["hide_color"]
    num_samples = s["num_samples"] or 1000
    batch = s["batch_size"] or 10
    data = rng.randint(0, 2, num_samples * n).reshape((num_samples, n))
    data[0, :] = 1  # the first sample is the input itself
    labels = []
    for start in range(0, num_samples, batch):
        on = data[start:start + batch][:, segments].astype(bool)[:, None]  # (b, 1, H, W)
        labels.append(subject.scores(np.where(on, x[None], hidden[None])))
    labels = np.concatenate(labels)
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    base = lime_base.LimeBase(partial(_kernel, kernel_width=KERNEL_WIDTH), random_state=rng)
    intercept, local_exp, score, _ = base.explain_instance_with_data(
        data, labels, distances, target, EVERY_FEATURE, feature_selection="auto")
    pixel_map = np.zeros(segments.shape)
    for segment, weight in local_exp:
        pixel_map[segments == segment] = weight
    return np.broadcast_to(pixel_map, x.shape).copy(), {
        "intercept": float(np.ravel(intercept)[0]), "fit_r2": float(score), "segments": int(n)}
