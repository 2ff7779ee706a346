"""Saliency (Captum): how sharply the answer reacts to a tiny change of each input, the
gradient's size. It shows where the model is sensitive, not which way it leans."""
from __future__ import annotations

import numpy as np

from playground.common.content import Term
from playground.explain.methods.base import Attribution, Method, Subject, register
from playground.explain.methods.ig import as_input


@register
class Saliency(Method):
    name = "saliency"
    title = "Saliency"
    order = 40
    libraries = ("captum.attr",)
    needs_gradients = True
    signed = False
    blurb = ("How sharply the answer reacts to a tiny change of each input (a gradient); it "
             "shows where the model is sensitive, not which way it leans.")
    defaults = {"abs": True}
    library_defaults = {}
    terms = (Term("saliency", "Saliency",
                  "Highlights the inputs whose small changes would move the prediction most "
                  "(the gradient's size)."),)

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        from captum.attr import Saliency as Captum  # slow to import: when used

        attr = Captum(subject.score_fn()).attribute(as_input(x), target=target, abs=s["abs"])
        return attr.detach().numpy(), {}

    def note(self, attribution: Attribution) -> str:
        return "size only, no direction"
