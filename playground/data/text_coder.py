"""Turning sentences into token ids: a WordPiece tokenizer (Hugging Face `tokenizers`, the
BERT recipe) trained on a run's own training split only, so no word of the validation or
test sentences shapes the vocabulary.

Ids are kept as float32 arrays (exact below 2**24) so text travels through the same paths
as every other dataset (caches, shipping to Ray, predictions); text models cast them back to
integers. Position 0 is [CLS], then the word pieces, [SEP], and [PAD] (id 0) to the length.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from tokenizers.trainers import WordPieceTrainer

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIALS = (PAD, UNK, CLS, SEP, MASK)
VOCAB_SIZE = 3000
LONGEST = 128  # the most positions a model gets, however long the longest message
LENGTH_QUANTILE = 0.98  # the length that fits this share of the training sentences


@dataclass
class TextCoder:
    tokenizer: Tokenizer
    max_length: int

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def id_of(self, token: str) -> int:
        return int(self.tokenizer.token_to_id(token))

    @property
    def pad_id(self) -> int:
        return self.id_of(PAD)

    @property
    def mask_id(self) -> int:
        return self.id_of(MASK)

    @property
    def special_ids(self) -> tuple[int, ...]:
        return tuple(self.id_of(t) for t in SPECIALS)

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """(n, max_length) float32 ids, [CLS] … [SEP] then [PAD]."""
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        return np.array([e.ids for e in encodings], dtype=np.float32).reshape(
            -1, self.max_length)

    def pieces(self, text: str) -> list[str]:
        """The tokens of one sentence as the model sees them (specials and padding left out)."""
        encoding = self.tokenizer.encode(str(text))
        return [t for t, m in zip(encoding.tokens, encoding.special_tokens_mask, strict=True)
                if not m]

    def words(self, text: str) -> list[tuple[str, int, int]]:
        """The sentence's words as typed, with their character spans: (word, start, end).
        Only the words the model sees (a long message is cut at max_length)."""
        encoding = self.tokenizer.encode(str(text))
        spans: dict[int, list[int]] = {}
        for word, (start, end) in zip(encoding.word_ids, encoding.offsets, strict=True):
            if word is None:
                continue
            span = spans.setdefault(word, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
        return [(str(text)[s:e], s, e) for s, e in (spans[w] for w in sorted(spans))]

    def word_of_position(self, text: str) -> list[int | None]:
        """For each of the max_length positions, the index of its word in `words(text)`
        (None for [CLS], [SEP] and padding): how token attributions add up into words."""
        encoding = self.tokenizer.encode(str(text))
        order = {w: i for i, w in enumerate(sorted({w for w in encoding.word_ids
                                                    if w is not None}))}
        return [None if w is None else order[w] for w in encoding.word_ids]

    def to_json(self) -> str:
        return json.dumps({"tokenizer": self.tokenizer.to_str(), "max_length": self.max_length})

    @classmethod
    def from_json(cls, text: str) -> TextCoder:
        data = json.loads(text)
        return cls(Tokenizer.from_str(data["tokenizer"]), int(data["max_length"]))

    def __getstate__(self):  # pickled for worker processes and Ray
        return {"json": self.to_json()}

    def __setstate__(self, state):
        other = TextCoder.from_json(state["json"])
        self.tokenizer, self.max_length = other.tokenizer, other.max_length


def fit_coder(train_texts: Sequence[str], vocab_size: int = VOCAB_SIZE,
              max_length: int | None = None) -> TextCoder:
    """A WordPiece tokenizer learnt from these sentences only (lower-cased, accents kept
    apart, punctuation split off), with a length that fits nearly all of them."""
    tokenizer = Tokenizer(WordPiece(unk_token=UNK))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(vocab_size=vocab_size, min_frequency=2,
                               special_tokens=list(SPECIALS), show_progress=False)
    texts = [str(t) for t in train_texts]
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    cls_id, sep_id = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", special_tokens=[(CLS, cls_id), (SEP, sep_id)])
    if max_length is None:
        lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
        max_length = int(min(LONGEST, max(8, np.ceil(np.quantile(lengths, LENGTH_QUANTILE)))))
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PAD), pad_token=PAD,
                             length=max_length)
    return TextCoder(tokenizer, max_length)
