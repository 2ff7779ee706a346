"""What a technique provides and needs, so that techniques ask about capabilities instead of
testing each other's names.

A technique lists the capabilities it `provides`, the ones it `needs` from the batch or the
loss, and the ones it `conflicts_with` (each with its plain reason). DP-SGD, for example,
provides a privacy guarantee and per-example gradients; mixup asks whether a privacy
guarantee is on, never whether "dp" is. A new privacy technique that provides the same
capabilities is then treated the same way, with no edit to the others.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    key: str
    words: str  # inside a sentence: "a privacy guarantee"
    exclusive: bool = False  # two techniques that provide it are refused together


PRIVACY_GUARANTEE = Capability(
    "privacy_guarantee", "a privacy guarantee for each training example (ε)")
PER_EXAMPLE_GRADIENTS = Capability(
    "per_example_gradients", "its own backward pass that clips each example's gradient")
LOSS_CHANGE = Capability("loss_change", "a change to the training loss")
NEEDS_LABELS = Capability(
    "needs_labels", "the batch's own labels in the loss (not blended soft targets)")
BATCH_CHANGE = Capability("batch_change", "changed training inputs (new or attacked copies)")
DECISION_RULE = Capability(
    "decision_rule", "its own rule turning the model's scores into decisions", exclusive=True)
FINE_TUNING = Capability(
    "fine_tuning", "extra fine-tuning epochs after training", exclusive=True)
LEARNS_FROM_RUN = Capability("learns_from_run", "learning from another finished run")
REBALANCES_CLASSES = Capability(
    "rebalances_classes", "making rare classes count more while the model learns")
STOPS_EARLY = Capability("stops_early", "ending training when it stops improving")
QUANTIZED_COPY = Capability("quantized_copy", "a quantized copy of the model that is shipped")
ZEROES_WEIGHTS = Capability(
    "zeroes_weights", "the smallest weights of every layer set to zero after training")


@dataclass(frozen=True)
class Conflict:
    """A capability a technique can't run beside, and why, in plain words ("the shipped int8
    copy would decide without the thresholds")."""

    capability: Capability
    reason: str
PRETRAINS_ENCODER = Capability(
    "pretrains_encoder", "its own training objective: an encoder learnt from unlabelled text "
    "(no classes)", exclusive=True)
