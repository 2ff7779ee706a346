"""Dropout: switch off a random share of neurons at every training step."""
from __future__ import annotations

from torch import nn

from playground.training.techniques.base import Param, Technique, register


@register
class Dropout(Technique):
    name = "dropout"
    title = "Dropout"
    description = ("While training, randomly silences a share of the neurons at every step, so "
                   "the model can't lean on any one of them. Usually narrows the gap between "
                   "training and test accuracy; too much slows learning.")
    params = (Param("rate", 0.2, "Share of neurons switched off at each step.", 0.0, 0.9,
                    flag="--dropout"),)
    measures = ("gap between training and validation accuracy",)

    def on_model(self, ctx) -> None:
        # Every model in the zoo keeps its dropout layers; the rate is set here.
        for module in ctx.model.modules():
            if isinstance(module, nn.Dropout):
                module.p = self.rate
            elif isinstance(getattr(module, "attention_dropout", None), float):
                # transformers' attention (the ViT) keeps its dropout as a rate, not a layer
                module.attention_dropout = self.rate
