"""Text datasets: sentences split like every dataset, then turned into token ids by a
tokenizer learnt from the training sentences alone.

WordPiece training in `tokenizers` is not deterministic across processes (ties between
equally frequent merges fall by hash order), yet the app, the workers and the CLI must agree
on every id. So the first process to fit a tokenizer for a given training split writes it
into the data folder and every process uses that file (of two fitting at once, one wins).
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from playground.common.files import create_json
from playground.common.paths import default_home
from playground.data.base import Dataset, DatasetInfo, _split, split_columns
from playground.data.text_coder import VOCAB_SIZE, TextCoder, fit_coder

CODER_VERSION = "wordpiece-1"


def coder_path(train_texts, vocab_size: int = VOCAB_SIZE):
    digest = hashlib.sha256(f"{CODER_VERSION}\n{vocab_size}\n".encode())
    for text in train_texts:
        digest.update(str(text).encode("utf-8") + b"\x00")
    return default_home() / "tokenizers" / f"{digest.hexdigest()[:32]}.json"


def shared_coder(train_texts, vocab_size: int = VOCAB_SIZE) -> TextCoder:
    """The tokenizer for these training sentences: the one in the data folder if a process
    fitted it already, else fitted here and kept there for the others."""
    path = coder_path(train_texts, vocab_size)
    if not path.exists():
        coder = fit_coder(train_texts, vocab_size)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # False when another process was first: its file is the one read below.
            create_json(path, {"coder": coder.to_json()}, mode=0o644)
        except OSError:
            return coder  # no data folder to share through (a remote worker): ours alone
    return TextCoder.from_json(json.loads(path.read_text())["coder"])


def text_dataset(info: DatasetInfo, texts: np.ndarray, y: np.ndarray, seed: int,
                 class_names: list[str], columns: dict[str, np.ndarray] | None = None,
                 vocab_size: int = VOCAB_SIZE) -> Dataset:
    """Split sentences and labels 60/20/20 like every dataset; learn the tokenizer from the
    training sentences only; encode all three splits with it."""
    texts = np.asarray(texts, dtype=object)
    t_tr, y_tr, t_val, y_val, t_te, y_te = _split(texts, np.asarray(y), seed)
    coder = shared_coder(t_tr, vocab_size)
    data = Dataset(
        info, coder.encode(t_tr), y_tr.astype(np.int64), coder.encode(t_val),
        y_val.astype(np.int64), coder.encode(t_te), y_te.astype(np.int64), class_names,
        [f"position {i}" for i in range(coder.max_length)],
        texts=(t_tr, t_val, t_te), coder=coder,
    )
    if columns:
        data.group_columns = split_columns(columns, np.asarray(y), seed)
    return data
