"""Attacks on every finished model, each with a kept library (the Adversarial Robustness
Toolbox): could someone tell who was in the training data (`membership`), and could a
tiny change to an input fool the model (`robustness`)? Run at the end of training, in the
worker, and stored with the run's metrics.
"""
from __future__ import annotations

from typing import Any

from playground.training.audits import fairness, membership, robustness

ROBUSTNESS_KINDS = ("image", "tabular")  # 2-D points have nothing worth a picture to fool
INT8_NOTE = ("Attacked through the float model it was quantized from: the int8 model's "
             "rounded steps have no gradients to follow, and it answers like its float twin "
             "on almost every input.")


def audit(ctx, metrics: dict[str, Any]) -> None:
    """Add metrics["privacy_attack"], for images and tables metrics["robustness"], and
    with a sensitive attribute metrics["fairness"]."""
    model, data, config = ctx.model, ctx.data, ctx.config
    training = model.training
    if data.groups is not None and ctx.y_pred is not None:
        metrics["fairness"] = fairness.audit(data, ctx.y_pred, ctx.plain_pred, ctx.decided_by)
    try:
        metrics["privacy_attack"] = membership.audit(
            model, data, ctx.device, config.seed, metrics.get("epsilon"), metrics.get("delta"))
        if data.info.kind in ROBUSTNESS_KINDS:
            note = INT8_NOTE if "quantization" in config.techniques else None
            metrics["robustness"] = robustness.audit(model, data, ctx.device,
                                                     config.attack_strength, note)
    finally:
        model.train(training)
