"""Occlusion (Captum): cover one small patch (pictures) or one feature (tables) at a time
with blank and record how much the answer drops."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from playground.common.content import Term
from playground.explain.methods.base import About, Method, Subject, register


@register
class Occlusion(Method):
    name = "occlusion"
    title = "Occlusion"
    order = 50
    libraries = ("captum.attr",)
    blurb = ("Covers one small patch at a time with blank and records how much the answer "
             "drops.")
    defaults = {"patch": 2, "baseline": 0.0, "perturbations_per_eval": 64}
    library_defaults = {"perturbations_per_eval": 1}
    terms = (Term("occlusion", "Occlusion",
                  "Covers parts of the input one at a time and measures how much the "
                  "prediction drops."),)

    def settings_for(self, values: dict[str, Any], about: About | None) -> dict[str, Any]:
        if about is not None and about.kind != "image":  # tables cover one feature at a time
            return {k: v for k, v in values.items() if k != "patch"}
        return values

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        from captum.attr import Occlusion as Captum  # slow to import: when used

        if subject.kind == "image":
            patch = s["patch"]
            window, strides = (x.shape[0], patch, patch), (x.shape[0], 1, 1)
        else:
            window, strides = (1,), (1,)
        with torch.no_grad():
            attr = Captum(subject.score_fn()).attribute(
                torch.from_numpy(x[None].copy()), sliding_window_shapes=window,
                strides=strides, baselines=float(s["baseline"]), target=target,
                perturbations_per_eval=s["perturbations_per_eval"])
        return attr.numpy(), {}
