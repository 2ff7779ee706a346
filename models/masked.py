"""The tiny BERT's encoder with a masked-word head: what a pretraining run trains.

It shares TinyBert's configuration (models/text.py), and its encoder's parameters carry the
same names as TinyBert's ("bert.bert.embeddings...", "bert.bert.encoder..."), so a
classification run loads them as they are; the masked-word head ("bert.cls...") stays
behind, and the classifier's pooler and head start fresh. Not registered as a model people
pick: it names no classes.
"""
from __future__ import annotations

import torch
from torch import nn

from models.base import ModelSpec
from models.text import PAD_ID, TinyBert, token_ids


class MaskedWordBert(nn.Module):
    """forward(ids, hidden) -> scores over the vocabulary for the word at each position
    where `hidden` (a (batch, length) mask) is True: (positions, vocabulary). Without
    `hidden`, every position: (batch, length, vocabulary)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        from transformers import BertForMaskedLM  # slow to import; only these models need it

        # TinyBert's own config, so the two encoders can never differ in shape.
        self.config = TinyBert(spec).config
        self.bert = BertForMaskedLM(self.config)

    @property
    def embedding_layer(self) -> nn.Module:
        return self.bert.bert.embeddings.word_embeddings

    def forward(self, x: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        ids = token_ids(x)
        states = self.bert.bert(input_ids=ids,
                                attention_mask=(ids != PAD_ID).long()).last_hidden_state
        # Scoring only the hidden positions: the vocabulary-wide head is most of the work,
        # and only about one position in seven is asked about.
        return self.bert.cls(states if hidden is None else states[hidden])

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The encoder's tensors (embeddings and layers), by the names TinyBert gives them."""
        return {k: v for k, v in self.state_dict().items() if k.startswith("bert.bert.")}
