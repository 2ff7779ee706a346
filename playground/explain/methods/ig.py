"""Integrated Gradients (Captum): fade the input in from a blank one and add up how the
answer changes on the way; the total equals the answer's change from blank to this input
(completeness), which the caption under each map checks.

Text: token ids are not numbers to fade, so Captum's Layer Integrated Gradients fades the
word embeddings instead (the model's `embedding_layer`), from a sentence of padding that
keeps [CLS] and [SEP] where they were; the sentence's real attention mask goes to the
model at every step, so the path changes the words alone and completeness holds. Each
word gets the sum over its pieces and its embedding's dimensions."""
from __future__ import annotations

import inspect

import numpy as np
import torch

from playground.common.content import Term
from playground.explain.methods.base import (
    KINDS,
    TEXT,
    Attribution,
    Method,
    Subject,
    log_odds,
    register,
    word_sums,
)


def as_input(x: np.ndarray) -> torch.Tensor:
    """One input as a batch of one that gradients flow to."""
    return torch.from_numpy(x[None].copy()).requires_grad_(True)


@register
class IntegratedGradients(Method):
    check_meaning = ("completeness gap: how far the values fall short of adding up to the "
                     "change in the model's score from a blank input to this one (near 0 "
                     "is good; a large gap means too few steps)")
    name = "ig"
    title = "Integrated Gradients"
    order = 30
    libraries = ("captum.attr",)
    needs_gradients = True
    default_on = True
    modality = KINDS | {TEXT}
    blurb = ("Fades the input in from a blank one and adds up how the answer changes on the "
             "way; the total equals the answer's change from blank to this input.")
    defaults = {"n_steps": 50, "method": "gausslegendre", "baseline": 0.0,
                "internal_batch_size": None}
    library_defaults = {}  # the playground keeps Captum's defaults
    terms = (Term("integrated_gradients", "Integrated Gradients",
                  "Explains a prediction by following the model's gradients on a path from a "
                  "blank input to the real one; the attributions add up to the change in "
                  "output.",
                  "It needs gradients, so it explains the float model, not an int8 one."),)

    def attribute(self, subject: Subject, x: np.ndarray, target: int, s: dict):
        from captum.attr import IntegratedGradients as Captum  # slow to import: when used

        xt = as_input(x)
        baseline = torch.full_like(xt, float(s["baseline"]))
        attr, delta = Captum(subject.score_fn()).attribute(
            xt, baselines=baseline, target=target, n_steps=s["n_steps"], method=s["method"],
            internal_batch_size=s["internal_batch_size"], return_convergence_delta=True)
        ends = subject.scores(np.concatenate([x[None], baseline.detach().numpy()]))[:, target]
        return attr.detach().numpy(), {"convergence_delta": float(delta.abs().max()),
                                       "model_output": float(ends[0]),
                                       "baseline_output": float(ends[1])}

    def attribute_text(self, subject: Subject, text: str, target: int, s: dict):
        from captum.attr import LayerIntegratedGradients

        coder, model = subject.coder, subject.model
        ids = torch.from_numpy(coder.encode([text]))
        kept = torch.isin(ids.long(), torch.tensor([coder.id_of("[CLS]"), coder.id_of("[SEP]")]))
        baseline = torch.where(kept, ids, torch.full_like(ids, float(coder.pad_id)))
        # Models that take a mask (the tiny BERT) get the sentence's own at every step.
        takes_mask = "attention_mask" in inspect.signature(model.forward).parameters
        mask = (ids.long() != coder.pad_id).long()
        extra = (mask,) if takes_mask else ()

        def score(x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
            return log_odds(model(x, *rest))

        attr, delta = LayerIntegratedGradients(score, model.embedding_layer).attribute(
            ids, baselines=baseline, target=target, additional_forward_args=extra or None,
            n_steps=s["n_steps"], method=s["method"],
            internal_batch_size=s["internal_batch_size"], return_convergence_delta=True)
        per_position = attr.detach().sum(dim=-1)[0].numpy()
        with torch.no_grad():
            ends = score(torch.cat([ids, baseline]), *(m.expand(2, -1) for m in extra))
        return word_sums(coder, text, per_position), {
            "convergence_delta": float(delta.abs().max()),
            "model_output": float(ends[0, target]), "baseline_output": float(ends[1, target])}

    def note(self, attribution: Attribution) -> str:
        return f"completeness gap {attribution.extras.get('convergence_delta', 0):.1e}"
