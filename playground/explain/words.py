"""Sentences as the Explain page shows them: each word highlighted by its weight, and the
tiny BERT's attention from word to word.

The sentence is user data (a review, a message, what a person typed), so every piece of it
goes through `escape.html` before it becomes HTML; the words keep their places in the
sentence as typed (the run's tokenizer gives their character spans), and what lies between
them (spaces, anything the model does not read) is shown plain.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from playground.common import escape
from playground.data.text_coder import TextCoder
from playground.explain.charts import relative

FOR, AGAINST = "#1e8449", "#c0392b"  # green: towards the class, red: against it
FOR_RGB, AGAINST_RGB = (30, 132, 73), (192, 57, 43)
MOST_OPAQUE = 0.55  # the strongest word's background: the text stays readable on it


def _background(weight: float) -> str:
    r, g, b = FOR_RGB if weight > 0 else AGAINST_RGB
    return f"rgba({r},{g},{b},{abs(weight) * MOST_OPAQUE:.2f})"


def sentence_html(text: str, spans: Sequence[tuple[str, int, int]], values: np.ndarray,
                  class_name: str, signed: bool = True) -> str:
    """The sentence with each word's background coloured by its weight (scaled to the
    strongest word), its weight in the tooltip; every piece of text escaped."""
    values = np.asarray(values, dtype=np.float64)
    rel = relative(values if signed else np.abs(values))
    parts, at = [], 0
    for (word, start, end), weight, raw in zip(spans, rel, values, strict=True):
        parts.append(escape.html(text[at:start]))
        way = "for" if raw > 0 else "against"
        tip = escape.html(f"{word}: {raw:+.3f} ({way} {class_name})")
        parts.append(f"<span title=\"{tip}\" style=\"background:{_background(weight)};"
                     "border-radius:3px;padding:1px 2px\">"
                     f"{escape.html(text[start:end])}</span>")
        at = end
    rest = text[at:]
    if rest:  # beyond what the model reads (a long message is cut): shown, greyed
        parts.append(f"<span style=\"color:#999\">{escape.html(rest)}</span>")
    return ("<div style=\"font-size:1.05rem;line-height:1.9\">" + "".join(parts) + "</div>")


def legend_html(class_name: str) -> str:
    """What the colours mean, in words."""
    name = escape.html(class_name)
    return ("<div style=\"font-size:0.8rem;color:#444\">"
            f"<span style=\"background:{_background(1.0)};padding:1px 4px;"
            f"border-radius:3px\">green</span> counted for “{name}”, "
            f"<span style=\"background:{_background(-1.0)};padding:1px 4px;"
            f"border-radius:3px\">red</span> against it; the stronger the colour, the more "
            "it counted (each sentence scaled to its own strongest word).</div>")


def attention_by_word(model: torch.nn.Module, coder: TextCoder, text: str
                      ) -> tuple[list[str], np.ndarray]:
    """The last layer's attention averaged over its heads, from word to word: a word cut
    into pieces attends with the mean of its pieces and is attended to with their sum, so
    each row still adds up to the share of attention that went to words (not to [CLS],
    [SEP])."""
    words = [w for w, _, _ in coder.words(text)]
    owners = coder.word_of_position(text)
    ids = torch.from_numpy(coder.encode([text]))
    with torch.no_grad():
        last = model.attentions(ids)[-1][0].mean(dim=0).numpy()  # (length, length)
    n = len(words)
    into = np.zeros((len(owners), n))
    for position, word in enumerate(owners):
        if word is not None:
            into[position, word] = 1.0
    counts = into.sum(axis=0)
    by_word = into.T @ last @ into  # (words, words): summed over both sides' pieces
    return words, by_word / np.maximum(counts, 1)[:, None]


def has_attention(model: torch.nn.Module) -> bool:
    """Whether the model can show where it looked (the tiny BERT can, bag-of-words cannot)."""
    return callable(getattr(model, "attentions", None))
