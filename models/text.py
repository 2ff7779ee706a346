"""Models over token ids (text): a bag of words (logistic, or a small network) and a tiny
BERT built from a `transformers` config and trained here (no pretrained weights).

Inputs are (batch, length) token ids stored as floats (see playground/data/text_coder.py);
id 0 is padding. An uploaded table's text read beside its other columns puts those columns'
standardised values after the ids (`ModelSpec.extra_features` of them): the bag-of-words
models read both, the tiny BERT only text. Every text model names its word-embedding layer
(`embedding_layer`), where Layer Integrated Gradients attributes, and the distillation and DP
code find it the same way.
"""
from __future__ import annotations

import torch
from torch import nn

from models.base import ModelInfo, ModelSpec, last_linear, register

PAD_ID = 0
TEXT_ONLY = ("Tiny BERT reads only the text column; leave the other columns out of the "
             "model, or choose a word-count model, which reads them beside the words")


def token_ids(x: torch.Tensor) -> torch.Tensor:
    return x.long()


class BagOfWords(nn.Module):
    """Each word piece adds its learnt vector; order is ignored. With no hidden layer this is
    logistic regression over word counts; with layers, a small network over them. Other
    columns (`spec.extra_features`) add a learnt linear map of their values to the same sum:
    the same as one linear layer over the word counts and the columns side by side."""

    def __init__(self, spec: ModelSpec, hidden: bool):
        super().__init__()
        width = spec.width if hidden else spec.n_classes
        self.embedding = nn.Embedding(spec.vocab_size, width, padding_idx=PAD_ID)
        self.extra = spec.extra_features
        # No bias of its own: the bag's bias (or the next layer's) is the intercept.
        self.columns = nn.Linear(self.extra, width, bias=False) if self.extra else None
        layers: list[nn.Module] = []
        if hidden:
            layers = [nn.ReLU(), nn.Dropout(spec.dropout)]
            for _ in range(max(0, spec.depth - 1)):
                layers += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(spec.dropout)]
            layers.append(nn.Linear(width, spec.n_classes))
        else:
            # Logistic regression starts from zero, as scikit-learn's does: random starting
            # weights would stay on the words it rarely sees and blur which words it learnt.
            nn.init.zeros_(self.embedding.weight)
            self.bias = nn.Parameter(torch.zeros(spec.n_classes))
        self.head = nn.Sequential(*layers)
        self.hidden = hidden

    @property
    def embedding_layer(self) -> nn.Module:
        return self.embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A sum, not a mean: padding's vector is zero, so the result depends on the words
        # alone and an all-padding input scores the bias (Integrated Gradients' baseline).
        if self.columns is None:
            summed = self.embedding(token_ids(x)).sum(dim=1)
        else:
            length = x.shape[1] - self.extra
            summed = (self.embedding(token_ids(x[:, :length])).sum(dim=1)
                      + self.columns(x[:, length:]))
        return self.head(summed) if self.hidden else summed + self.bias


def _per_example_ids(ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Position and segment ids as whole (batch, length) tensors: BERT's defaults are one
    broadcast row, and DP-SGD (Opacus) needs each example's own rows to clip its gradient."""
    positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids).contiguous()
    return {"position_ids": positions, "token_type_ids": torch.zeros_like(ids)}


class TinyBert(nn.Module):
    """Wraps BertForSequenceClassification so that forward() takes ids and returns logits."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        if spec.extra_features:
            raise ValueError(TEXT_ONLY)
        # Imported here: transformers takes seconds to import and only these models need it.
        from transformers import BertConfig, BertForSequenceClassification

        heads = 4
        hidden = max(heads, spec.width - spec.width % heads)
        self.config = BertConfig(
            vocab_size=spec.vocab_size, hidden_size=hidden, num_hidden_layers=spec.depth,
            num_attention_heads=heads, intermediate_size=2 * hidden,
            max_position_embeddings=spec.input_shape[0], type_vocab_size=1,
            hidden_dropout_prob=spec.dropout, attention_probs_dropout_prob=spec.dropout,
            pad_token_id=PAD_ID, num_labels=spec.n_classes,
        )
        # Eager attention: it can hand back its attention weights (the heat map), and DP's
        # per-example gradients need nothing fused.
        self.config._attn_implementation = "eager"
        self.bert = BertForSequenceClassification(self.config)

    @property
    def embedding_layer(self) -> nn.Module:
        return self.bert.bert.embeddings.word_embeddings

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        ids = token_ids(x)
        if attention_mask is None:
            attention_mask = (ids != PAD_ID).long()
        return self.bert(input_ids=ids, attention_mask=attention_mask,
                         **_per_example_ids(ids)).logits

    def attentions(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per layer, (batch, heads, length, length) attention weights."""
        ids = token_ids(x)
        out = self.bert(input_ids=ids, attention_mask=(ids != PAD_ID).long(),
                        output_attentions=True, **_per_example_ids(ids))
        return out.attentions


register(ModelInfo(
    "bow", "Word counts (logistic regression)", ("text",),
    "Adds up one learnt weight per word for each class. Fast and easy to read, but blind to "
    "word order: 'not good' and 'good, not bad' are the same bag of words.",
    lambda spec: BagOfWords(spec, hidden=False), linear=True, default_lr=0.05,
    head=lambda model: "embedding", takes_columns=True,
))
register(ModelInfo(
    "bow_net", "Word counts with a small network", ("text",),
    "Adds up a learnt vector per word, then a few layers of neurons. Still blind to word "
    "order. Width is neurons per layer, depth the number of layers.",
    lambda spec: BagOfWords(spec, hidden=True), uses_width_depth=True, default_lr=0.01,
    head=last_linear, takes_columns=True,
))
register(ModelInfo(
    "bert", "Tiny BERT (transformer)", ("text",),
    "Reads the whole sentence, each word piece attending to every other in order: the "
    "design behind today's large language models, shrunk to a few layers. Width is the "
    "size of each word's vector (64–256), depth the number of layers (2–4).",
    TinyBert, uses_width_depth=True, default_lr=0.001,
    head=lambda model: "bert.classifier",
))
