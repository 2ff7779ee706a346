"""Dropout: switch off a random share of neurons at every training step."""
from __future__ import annotations

from torch import nn

from playground.common.content import Lesson, Term
from playground.training.techniques.base import Param, PlainChoice, Technique, register


@register
class Dropout(Technique):
    name = "dropout"
    title = "Dropout"
    description = ("While training, randomly silences a share of the neurons at every step, so "
                   "the model can't lean on any one of them. Usually narrows the gap between "
                   "training and test accuracy; too much slows learning.")
    order = 40  # when its hooks run
    harder_batches = True
    regularises = True
    params = (Param("rate", 0.2, "Share of neurons switched off at each step.", 0.0, 0.9,
                    flag="--dropout", sweep="0, 0.2, 0.5", label="Share switched off"),)
    plain = PlainChoice(
        "Don't memorise the training data", "How much?",
        (("a little", {"rate": 0.1}), ("medium", {"rate": 0.2}), ("a lot", {"rate": 0.5})),
        cost="Learns a little slower; too much and it can't learn at all.", default=1,
        rank=50)

    def on_model(self, ctx) -> None:
        # Every model in the zoo keeps its dropout layers; the rate is set here.
        for module in ctx.model.modules():
            if isinstance(module, nn.Dropout):
                module.p = self.s.rate
            elif isinstance(getattr(module, "attention_dropout", None), float):
                # transformers' attention (the ViT) keeps its dropout as a rate, not a layer
                module.attention_dropout = self.s.rate

    terms = (Term("dropout", "Dropout",
                  "While training, randomly switches off a share of the neurons at every step, "
                  "so the model can't lean on any single one.",
                  "It usually narrows the gap between training and test accuracy. Too much "
                  "slows learning down. Nothing is switched off when the model is used."),)
    lesson = Lesson(
        "Randomly switches off part of the network at every training step, so it can't "
        "rely on any single neuron.",
        "Less memorising and a narrower gap between training and test accuracy, against "
        "slower learning; too much and the model can't fit at all.",
        "A team whose model looks great on its own training data but disappoints on new "
        "customers, and who can't easily collect more data.",
        {"dataset": "digits", "model": "mlp", "epochs": 30, "width": 256, "train_fraction": 0.3,
         "dropout": 0.5},
        "Train the same setup with dropout off too, then compare the learning curves' gaps.")
