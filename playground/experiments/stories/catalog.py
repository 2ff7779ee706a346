"""The stories and the settings of their runs."""
from __future__ import annotations

from playground.experiments.stories.base import Step, Story
from playground.experiments.stories.walkthroughs import (
    _attacker,
    _augment,
    _fair,
    _overfit,
    _privacy,
    _rare,
    _reuse,
    _robust,
    _shrink,
    _teacher,
)

# -- the stories ---------------------------------------------------------------------------

PRIVACY_BASE = dict(dataset="digits", model="mlp", epochs=10, lr=0.01)


SHRINK_BASE = dict(dataset="digits", model="mlp", width=128, depth=2, epochs=10, lr=0.01)
SMALL = dict(SHRINK_BASE, width=16)


TEACHER = dict(dataset="digits", model="cnn", epochs=15, lr=0.01)
STUDENT = dict(dataset="digits", model="mlp", width=16, depth=1, epochs=30, lr=0.01)
DISTILL = dict(distill_temperature=4.0, distill_weight=0.7)


SCARCE = dict(dataset="digits", model="cnn", epochs=40, lr=0.003, batch_size=32,
              train_fraction=0.15)


OVERFIT = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60, lr=0.003,
               train_fraction=0.2)


# The setup of issue 14: big enough to memorise a fifth of the digits, so an attacker has
# something to find (the learning rate stays the CLI's default).
EXPOSED = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60,
               train_fraction=0.2)


# The default image network; its robustness audit and its adversarial training use the same
# strength (the audit's default), so the second run trains against the attack it then faces.
ROBUST = dict(dataset="digits", model="cnn", epochs=10)
ROBUST_STRENGTH = 0.1


# Transfer learning: an image network learns the digits 0-4 from all their examples; then
# 5-9 from 5% of theirs, from scratch and from that head start (the CLI's defaults).
REUSE_SOURCE = dict(dataset="digits", model="cnn", epochs=10, classes="0-4")
REUSE_TARGET = dict(dataset="digits", model="cnn", epochs=10, classes="5-9",
                    train_fraction=0.05)
# The generated loans, whose past decisions refused part of group B's deserving applicants.
LOANS = dict(dataset="loans", model="mlp", epochs=10)
# The setup: the digits 5-9 keep 5% of their training examples (about 5 each).
RARE = dict(dataset="digits", model="mlp", epochs=10, imbalance=0.05)


STORIES: dict[str, Story] = {s.key: s for s in (
    Story(
        "privacy", "Privacy costs accuracy",
        "What does protecting people's data cost me in accuracy?",
        "Three copies of the same small network learn to read handwritten digits: one "
        "normally, two with DP-SGD, which clips each example's influence and adds noise so "
        "that no single person's data can be told from the model. More noise buys a smaller "
        "privacy budget ε (stronger privacy). What does it cost?",
        (Step("none", "No privacy noise", PRIVACY_BASE),
         Step("some", "Some noise", dict(PRIVACY_BASE, dp_noise=0.6)),
         Step("strong", "Strong noise", dict(PRIVACY_BASE, dp_noise=1.5))),
        _privacy),
    Story(
        "shrink", "Shrink it for a phone",
        "How small can my model get before it gets worse?",
        "One network learns to read digits, then three ways of making it smaller compete: "
        "quantization (store each weight in 8 bits instead of 32), pruning (set most weights "
        "to zero) and distillation (train a much smaller student to copy it).",
        (Step("original", "Original network", SHRINK_BASE),
         Step("int8", "Quantized to 8 bits", dict(SHRINK_BASE, quantize="int8")),
         Step("pruned", "Pruned (80% zeros)", dict(SHRINK_BASE, prune=0.8)),
         Step("alone", "Small network alone", SMALL),
         Step("student", "Small student of the original", dict(SMALL, distill_weight=0.7),
              teacher="original")),
        _shrink),
    Story(
        "teacher", "A big teacher makes a small student smarter",
        "Can a small, cheap model learn from a big one?",
        "A big image network (the teacher) learns first. Then a tiny network learns twice: "
        "once from the labels alone, once also from the teacher's answers, which say not "
        "just 'this is a 7' but 'it looks a bit like a 1'. The queue makes the student wait "
        "for its teacher.",
        (Step("teacher", "Big teacher", TEACHER),
         Step("alone", "Small student alone", STUDENT),
         Step("student", "Small student with the teacher", dict(STUDENT, **DISTILL),
              teacher="teacher")),
        _teacher),
    Story(
        "augment", "Augment when data is scarce",
        "I only have a little data. Can I make more of it?",
        "An image network learns digits from only 15% of the training pictures (about 16 "
        "per digit), once as is and once with augmentation, which shows it slightly turned, "
        "shifted and noisy copies at every step. A third run with all the pictures shows "
        "what the missing data cost.",
        (Step("scarce", "15% of the data", SCARCE),
         Step("augmented", "15% of the data, augmented", dict(SCARCE, augment=0.5)),
         Step("full", "All the data", dict(SCARCE, train_fraction=1.0))),
        _augment),
    Story(
        "overfit", "Overfitting and dropout",
        "Why does my model look great in training and worse on new data?",
        "A big network (3 layers of 256 neurons) trains for 60 epochs on 20% of the digits: "
        "far more capacity than data, so it starts memorising. A second copy uses dropout, "
        "which switches off half its neurons at random at every step so it cannot rely on "
        "any one of them. Watch the validation loss: the score on pictures it never trains on.",
        (Step("plain", "No dropout", OVERFIT),
         Step("dropout", "Dropout 0.5", dict(OVERFIT, dropout=0.5))),
        _overfit),
    Story(
        "attacker", "Does privacy stop an attacker?",
        "Could someone tell from my model that a customer's data was used to train it?",
        "An attacker who gets hold of a model wants to know whether one person's record "
        "was in its training data (a patient in a hospital's model, a customer in a bank's). "
        "A big network trains for 60 epochs on a fifth of the digits, long enough to "
        "memorise them; a second copy trains the same way with privacy noise (DP-SGD) at a "
        "privacy budget of ε = 1. Then a real attack tries to tell the pictures each one "
        "trained on from pictures it never saw. Does ε's promise hold, and what does it cost?",
        (Step("exposed", "No privacy noise", EXPOSED),
         Step("private", "Privacy noise, ε = 1", dict(EXPOSED, dp_epsilon=1.0))),
        _attacker),
    Story(
        "robust", "Robust or accurate?",
        "Could someone fool my model with a change too small to see?",
        "Someone who wants a model to be wrong can change an input a little, exactly in the "
        "direction that fools it most. An image network learns to read digits twice: "
        "normally, and with adversarial training, which attacks its own training pictures "
        "at every step and learns from the attacked copies. Then both are attacked: every "
        f"pixel may move by at most {ROBUST_STRENGTH:g} on a scale from blank paper (0) to "
        "full ink (1).",
        # The plain run first: it is exactly the twin adversarial training compares with,
        # so queueing the second run finds it in line and adds nothing.
        (Step("standard", "Trained normally", ROBUST),
         Step("adversarial", "Adversarially trained",
              dict(ROBUST, adversarial_training=ROBUST_STRENGTH))),
        _robust),
    Story(
        "reuse", "Reuse what you learned",
        "Can I reuse a model I already trained instead of collecting more data?",
        "An image network learns to read the digits 0 to 4 from all their examples. Then "
        "the digits 5 to 9 have to be learned from only 5% of their examples (about five "
        "pictures per digit): once from scratch, once starting from the first network's "
        "weights (transfer learning: only its last layer, which names the classes, starts "
        "fresh), and once more from those weights with every layer but the last frozen. The "
        "queue makes the last two wait for the first.",
        # The scratch run first: it is exactly the twin the head start compares with, so
        # queueing the head start finds it in line and adds nothing.
        (Step("source", "Digits 0-4, all examples", REUSE_SOURCE),
         Step("scratch", "Digits 5-9, 5%, from scratch", REUSE_TARGET),
         Step("transfer", "Digits 5-9, 5%, from the head start", REUSE_TARGET,
              refs=(("init_from", "source"),)),
         Step("frozen", "Digits 5-9, 5%, head start, frozen layers",
              dict(REUSE_TARGET, freeze_features=True), refs=(("init_from", "source"),))),
        _reuse),
    Story(
        "fair", "Is it fair?",
        "Does my model treat one group of people worse than another?",
        "A network learns to approve loans from past decisions. The applicants are "
        "generated: whether they would repay depends on income, debt, years employed and "
        "the amount, the same way for group A and group B, but the past decisions refused "
        "part of group B's good applicants anyway. Trained plainly, does the model repeat "
        "that? Two more copies get fairness post-processing: a decision threshold per group, "
        "set so the groups are approved at the same rate (demographic parity) or wrongly "
        "refused at the same rate (equalized odds). What does each fix cost, and what does "
        "it buy?",
        (Step("plain", "Trained plainly", LOANS),
         Step("parity", "Equal approval rates", dict(LOANS, fairness="demographic_parity")),
         Step("odds", "Equal error rates", dict(LOANS, fairness="equalized_odds"))),
        _fair),
    Story(
        "rare", "When one class is rare",
        "Fraud is one case in fifty: is 98 % accuracy good?",
        "A network learns to read digits, but the digits 5 to 9 keep only 5% of their "
        "training examples, as fraud or a rare illness do in real data (the test digits stay "
        "complete, so we can see what it misses). It learns once as is and once with class "
        "weights, which make a mistake on a rare digit count more; a third run with every "
        "digit common shows what the missing examples cost. Watch how often each digit is "
        "found, not only the accuracy.",
        # The plain run first: it is exactly the twin class weights compare with.
        (Step("plain", "Rare digits, no weights", RARE),
         Step("weighted", "Rare digits, class weights", dict(RARE, class_weights="balanced")),
         Step("balanced", "Every digit common (reference)", dict(RARE, imbalance=1.0))),
        _rare),
)}

DEFAULT_STORY = "privacy"
