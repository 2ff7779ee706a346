"""Attacks on every finished model, each with a kept library (the Adversarial Robustness
Toolbox): could someone tell who was in the training data (`membership`), and could a
tiny change to an input fool the model (`robustness`)? Run at the end of training, in the
worker, and stored with the run's metrics.

A server can switch them off with PLAYGROUND_AUDITS=off: on a slow laptop facing a full room
they cost about a quarter of a default run's time. Runs then carry metrics["audits"] = "off"
and the pages say that they were not attacked. (The test suite runs with them off, except in
the tests about attacks: the attacks cost tiny test runs several times their training.)
"""
from __future__ import annotations

import os
from typing import Any

from playground.training.audits import fairness, membership, robustness
from playground.training.audits import shift as shift_audit
from playground.training.capabilities import QUANTIZED_COPY

ROBUSTNESS_KINDS = ("image", "tabular")  # 2-D points have nothing worth a picture to fool
# Why a kind of data is not attacked for robustness, said on its run card.
ROBUSTNESS_SKIPPED = {
    "text": "Not attacked with small deliberate changes: a sentence is made of whole words, "
            "and nudging a word's number a little makes no word at all.",
}


def robustness_skipped(metrics: dict[str, Any] | None) -> str | None:
    """The sentence a run's card shows for a robustness attack it did not get (None: it got
    one, or its kind says nothing)."""
    return (metrics or {}).get("robustness_skipped")
INT8_NOTE = ("Attacked through the float model it was quantized from: the int8 model's "
             "rounded steps have no gradients to follow, and it answers like its float twin "
             "on almost every input.")


OFF_NOTE = ("The attack checks are switched off on this server (PLAYGROUND_AUDITS=off), so "
            "this run was not attacked.")


def enabled() -> bool:
    return os.environ.get("PLAYGROUND_AUDITS", "on").strip().lower() not in (
        "off", "0", "no", "false")


def privacy_promise(ctx, metrics: dict[str, Any]) -> tuple[float | None, float | None]:
    """The (ε, δ) a technique of the run promises (None, None: no privacy guarantee), asked
    of the techniques themselves, so this module names none of them."""
    for technique in ctx.techniques:
        promise = technique.privacy_promise(metrics)
        if promise is not None:
            return promise
    return None, None


def audit(ctx, metrics: dict[str, Any]) -> None:
    """Add metrics["fairness"] with a sensitive attribute, metrics["shift"] (accuracy on
    shifted test sets), and (unless the server switched
    the attacks off) metrics["privacy_attack"] and, for images and tables,
    metrics["robustness"]."""
    model, data, config = ctx.model, ctx.data, ctx.config
    training = model.training
    if data.groups is not None and ctx.y_pred is not None:
        metrics[fairness.STORED_UNDER] = fairness.audit(data, ctx.y_pred, ctx.plain_pred,
                                                        ctx.decided_by)
    shift_audit.audit(ctx, metrics)  # evaluation only: cheap, so even with the attacks off
    if not enabled():  # the fairness numbers are counts, cheap; the attacks are not
        metrics["audits"] = "off"
        return
    try:
        epsilon, delta = privacy_promise(ctx, metrics)
        metrics[membership.STORED_UNDER] = membership.audit(
            model, data, ctx.device, config.seed, epsilon, delta)
        if data.info.kind in ROBUSTNESS_KINDS:
            note = INT8_NOTE if ctx.provides(QUANTIZED_COPY) else None
            metrics[robustness.STORED_UNDER] = robustness.audit(model, data, ctx.device,
                                                     config.attack_strength, note)
        elif data.info.kind in ROBUSTNESS_SKIPPED:
            metrics["robustness_skipped"] = ROBUSTNESS_SKIPPED[data.info.kind]
    finally:
        model.train(training)
