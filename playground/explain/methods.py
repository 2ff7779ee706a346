"""Five explanation methods behind one interface, each a thin adapter over its library.

    explain(subject, x, method, target, settings) -> Attribution (values shaped like x)

Every method explains the same number, the model's log-odds for the target class,
log(p / (1 - p)) computed straight from the logits as z_t - logsumexp(z_others), so their
maps can be compared and SHAP / Integrated Gradients sum to a change in it. Not the
probability (nor its log): a model that is "100% sure" has p stuck at 1.0 in float32, so
nudging an input moves nothing and Occlusion, Saliency and Integrated Gradients draw blank
maps; the log-odds keep moving (0 is a coin toss, +5 about 150 to 1 for the class).

`settings(name)` are the playground's settings (chosen to stay well under a
second on a CPU, measured against the libraries' own defaults in `make bench`);
`library_defaults(name)` are what each library does when given nothing.
"""
from __future__ import annotations

import importlib
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from playground.common.registry import Registry

_LIBRARY_MODULES = {"lime": ("lime.lime_image", "lime.lime_tabular"), "shap": ("shap",),
                    "captum": ("captum.attr",)}


class GradientsUnavailable(ValueError):
    """A gradient method was asked to explain a model that has no gradients (int8)."""


def log_odds(logits: torch.Tensor) -> torch.Tensor:
    """log(p_t / (1 - p_t)) for every class t, without forming p (no saturation)."""
    n = logits.shape[1]
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    others = logits.unsqueeze(1).expand(-1, n, n).masked_fill(eye, float("-inf"))
    return logits - torch.logsumexp(others, dim=2)


@dataclass
class Subject:
    """What is explained: a model plus what the methods need to know about its data."""

    model: nn.Module
    background: np.ndarray  # training examples: "typical inputs" for SHAP, statistics for LIME
    kind: str  # image, tabular or points
    feature_names: list[str]
    class_names: list[str]
    quantized: bool = False  # int8 weights: forward passes only, no gradients
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # per-subject set-up
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.background.shape[1:])

    def probs(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch shaped (n, *input_shape)."""
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            return torch.softmax(self.model(t).float(), dim=1).numpy()

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The explained quantity for every class: log-odds, (n, classes)."""
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            return log_odds(self.model(t).float()).numpy()

    def score_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        model = self.model
        return lambda t: log_odds(model(t))

    def remember(self, key: str, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key not in self.memo:
                self.memo[key] = make()
            return self.memo[key]


@dataclass
class Attribution:
    method: str
    values: np.ndarray  # shaped like the input; positive = pushed towards the target class
    target: int
    seconds: float
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. convergence_delta, base_value

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "attributions": self.values.tolist(),
                "shape": list(self.values.shape), "target": self.target,
                "seconds": self.seconds, **self.extras}


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    library: str
    needs_gradients: bool
    signed: bool  # False: the map shows only how much, not which way (Saliency)
    blurb: str  # one plain sentence for the page
    defaults: dict[str, Any]  # the playground's settings
    library_defaults: dict[str, Any]  # what the library does when told nothing
    run: Callable[[Subject, np.ndarray, int, dict[str, Any]], tuple[np.ndarray, dict]]


METHODS: Registry[Method] = Registry("explanation method")


def register(method: Method) -> Method:
    METHODS.register(method.name)(method)
    return method


def method(name: str) -> Method:
    return METHODS.get(name)


def method_names() -> list[str]:
    return METHODS.names()


# Settings that mean something for one kind of input only (left out of the other's cache key).
_IMAGE_ONLY = {"lime": ("batch_size", "patch", "hide_color"), "occlusion": ("patch",)}
_TABLE_ONLY = {"lime": ("discretize",)}


def settings(name: str, subject: Subject | None = None, **overrides: Any) -> dict[str, Any]:
    """The playground's settings for a method, resolved for this subject (e.g. which SHAP)."""
    m = method(name)
    values = {**m.defaults, **overrides}
    if subject is not None:
        drop = (_TABLE_ONLY if subject.kind == "image" else _IMAGE_ONLY).get(name, ())
        values = {k: v for k, v in values.items() if k not in drop}
    if name == "shap" and "explainer" not in overrides:
        values["explainer"] = "kernel" if subject is not None and subject.quantized \
            else "gradient"
    if name == "shap":
        # Only the chosen explainer's knobs, so cache keys do not change with the other's.
        prefix = "kernel_" if values["explainer"] == "kernel" else "gradient_"
        values = {k: v for k, v in values.items()
                  if k == "explainer" or k == "seed" or k.startswith(prefix)}
    return values


def library_defaults(name: str, subject: Subject | None = None) -> dict[str, Any]:
    """What the library does when given nothing (None: the argument is not passed)."""
    resolved = settings(name, subject)
    defaults = dict(method(name).library_defaults)
    if name == "lime":  # LimeImageExplainer samples 1000 by default, LimeTabularExplainer 5000
        image = subject is None or subject.kind == "image"
        defaults["num_samples"] = 1000 if image else 5000
    return {**resolved, **{k: v for k, v in defaults.items() if k in resolved}}


def explain(subject: Subject, x: np.ndarray, name: str, target: int,
            options: dict[str, Any] | None = None) -> Attribution:
    """Attribute the target class's log-odds under `subject.model` at `x` to x's features."""
    m = method(name)
    if m.needs_gradients and subject.quantized:
        raise GradientsUnavailable(
            f"{m.title} needs gradients, and an int8 model has none: its weights are whole "
            "numbers that PyTorch cannot differentiate. Explain it with LIME, SHAP or "
            "Occlusion, or explain the float model of the same run with gradient methods.")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape != subject.input_shape:
        raise ValueError(f"input has shape {x.shape}, the model expects {subject.input_shape}")
    opts = options if options is not None else settings(name, subject)
    for module in _LIBRARY_MODULES[m.library]:
        importlib.import_module(module)  # a first import is not part of the method's time
    start = time.perf_counter()
    values, extras = m.run(subject, x, int(target), opts)
    seconds = time.perf_counter() - start
    values = np.asarray(values, dtype=np.float32).reshape(x.shape)
    return Attribution(name, values, int(target), seconds, extras)


# -- LIME ---------------------------------------------------------------------------------


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


def _lime(subject: Subject, x: np.ndarray, target: int, s: dict) -> tuple[np.ndarray, dict]:
    if subject.kind == "image":
        return _lime_image(subject, x, target, s)
    from lime.lime_tabular import LimeTabularExplainer

    discretize = s["discretize"]
    explainer = subject.remember(f"lime_tabular_{discretize}", lambda: LimeTabularExplainer(
        subject.background, feature_names=subject.feature_names,
        class_names=subject.class_names, discretize_continuous=discretize,
        random_state=s["seed"]))
    explainer.random_state = np.random.RandomState(s["seed"])  # same draws on every call
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


def _no_bar(iterable, *args, **kwargs):
    return iterable


def _lime_image(subject: Subject, x: np.ndarray, target: int, s: dict):
    from lime import lime_image

    # lime draws a tqdm bar on stderr for every image; in an app or a --json CLI it is noise.
    lime_image.tqdm = _no_bar

    channels, height, width = x.shape
    segments = grid_segments(height, width, s["patch"]) if s["patch"] else None

    def classify(batch: np.ndarray) -> np.ndarray:  # LIME hands over (n, H, W, 3) images
        images = np.moveaxis(batch[..., :channels], -1, 1)
        return subject.scores(images)

    image = x[0] if channels == 1 else np.moveaxis(x, 0, -1)
    explainer = lime_image.LimeImageExplainer(random_state=s["seed"])
    exp = explainer.explain_instance(
        image.astype(np.float64), classify, labels=(target,), top_labels=None,
        random_seed=s["seed"], segmentation_fn=None if segments is None else (lambda _: segments),
        **_given(hide_color=s["hide_color"], num_samples=s["num_samples"],
                 batch_size=s["batch_size"]))
    weights = dict(exp.local_exp[target])
    pixel_map = np.zeros((height, width))
    for segment, weight in weights.items():
        pixel_map[exp.segments == segment] = weight
    return np.broadcast_to(pixel_map, x.shape).copy(), {
        "intercept": float(np.ravel(exp.intercept[target])[0]), "fit_r2": float(exp.score),
        "segments": int(len(np.unique(exp.segments)))}


register(Method(
    "lime", "LIME", "lime", needs_gradients=False, signed=True,
    blurb="Switches parts of the input off at random, many times, and fits a simple "
          "straight-line model to how the answer moves.",
    defaults={"num_samples": 1000, "batch_size": 1000, "patch": 1, "hide_color": 0.0,
              "discretize": True, "seed": 0},
    library_defaults={"num_samples": None, "batch_size": None, "patch": None, "hide_color": None},
    run=_lime,
))


# -- SHAP ---------------------------------------------------------------------------------


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


def _shap(subject: Subject, x: np.ndarray, target: int, s: dict) -> tuple[np.ndarray, dict]:
    import shap

    if s["explainer"] == "kernel":
        return _kernel_shap(subject, x, target, s)
    rows = background_rows(subject, s["gradient_background"], s["seed"])
    background = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    wrapped = _TargetScore(subject.model, target).eval()
    explainer = shap.GradientExplainer(wrapped, background, batch_size=s["gradient_batch_size"])
    values = explainer.shap_values(torch.from_numpy(x[None]), nsamples=s["gradient_nsamples"],
                                   rseed=s["seed"])
    base = float(subject.scores(rows)[:, target].mean())
    return np.asarray(values), {"explainer": "GradientExplainer (expected gradients)",
                                "base_value": base,
                                "model_output": float(subject.scores(x[None])[0, target])}


def _kernel_shap(subject: Subject, x: np.ndarray, target: int, s: dict):
    import shap

    k = s["kernel_background"]
    summary = subject.remember(f"kmeans_{k}", lambda: shap.kmeans(
        subject.background.reshape(len(subject.background), -1), k))
    shape = x.shape

    def f(flat: np.ndarray) -> np.ndarray:
        return subject.scores(flat.reshape((-1, *shape)))[:, target]

    explainer = shap.KernelExplainer(f, summary)
    np.random.seed(s["seed"])  # KernelExplainer samples coalitions from numpy's global RNG
    nsamples = s["kernel_nsamples"]
    values = explainer.shap_values(x.reshape(1, -1), nsamples=nsamples,
                                   l1_reg=s["kernel_l1_reg"], silent=True)
    return np.asarray(values), {"explainer": "KernelExplainer (model-agnostic)",
                                "base_value": float(np.ravel(explainer.expected_value)[0]),
                                "model_output": float(f(x.reshape(1, -1))[0])}


register(Method(
    "shap", "SHAP", "shap", needs_gradients=False, signed=True,
    blurb="Shares the answer out between the inputs the way a fair split of a prize is "
          "worked out (Shapley values); the shares add up to how far this answer is from "
          "the average one.",
    defaults={"gradient_nsamples": 200, "gradient_batch_size": 50, "gradient_background": 64,
              "kernel_nsamples": 600, "kernel_background": 10, "kernel_l1_reg": False,
              "seed": 0},
    library_defaults={"kernel_nsamples": "auto",
                      "kernel_l1_reg": "num_features(10)"},
    run=_shap,
))


# -- Captum -------------------------------------------------------------------------------


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x[None].copy()).requires_grad_(True)


def _ig(subject: Subject, x: np.ndarray, target: int, s: dict) -> tuple[np.ndarray, dict]:
    from captum.attr import IntegratedGradients

    xt = _tensor(x)
    baseline = torch.full_like(xt, float(s["baseline"]))
    attr, delta = IntegratedGradients(subject.score_fn()).attribute(
        xt, baselines=baseline, target=target, n_steps=s["n_steps"], method=s["method"],
        internal_batch_size=s["internal_batch_size"], return_convergence_delta=True)
    ends = subject.scores(np.concatenate([x[None], baseline.detach().numpy()]))[:, target]
    return attr.detach().numpy(), {"convergence_delta": float(delta.abs().max()),
                                   "model_output": float(ends[0]),
                                   "baseline_output": float(ends[1])}


register(Method(
    "ig", "Integrated Gradients", "captum", needs_gradients=True, signed=True,
    blurb="Fades the input in from a blank one and adds up how the answer changes on the "
          "way; the total equals the answer's change from blank to this input.",
    defaults={"n_steps": 50, "method": "gausslegendre", "baseline": 0.0,
              "internal_batch_size": None},
    library_defaults={},  # the playground keeps Captum's defaults
    run=_ig,
))


def _saliency(subject: Subject, x: np.ndarray, target: int, s: dict):
    from captum.attr import Saliency

    attr = Saliency(subject.score_fn()).attribute(_tensor(x), target=target, abs=s["abs"])
    return attr.detach().numpy(), {}


register(Method(
    "saliency", "Saliency", "captum", needs_gradients=True, signed=False,
    blurb="How sharply the answer reacts to a tiny change of each input (a gradient); it "
          "shows where the model is sensitive, not which way it leans.",
    defaults={"abs": True},
    library_defaults={},
    run=_saliency,
))


def _occlusion(subject: Subject, x: np.ndarray, target: int, s: dict):
    from captum.attr import Occlusion

    if subject.kind == "image":
        patch = s["patch"]
        window, strides = (x.shape[0], patch, patch), (x.shape[0], 1, 1)
    else:
        window, strides = (1,), (1,)
    with torch.no_grad():
        attr = Occlusion(subject.score_fn()).attribute(
            torch.from_numpy(x[None].copy()), sliding_window_shapes=window, strides=strides,
            baselines=float(s["baseline"]), target=target,
            perturbations_per_eval=s["perturbations_per_eval"])
    return attr.numpy(), {}


register(Method(
    "occlusion", "Occlusion", "captum", needs_gradients=False, signed=True,
    blurb="Covers one small patch at a time with blank and records how much the answer "
          "drops.",
    defaults={"patch": 2, "baseline": 0.0, "perturbations_per_eval": 64},
    library_defaults={"perturbations_per_eval": 1},
    run=_occlusion,
))
