"""An uploaded table with a column of free text, read as words: the text dataset a run sees.

The sentences become token ids (a tokenizer learnt from the training rows only, as for the
built-in corpora); the table's other columns, if kept, follow them as standardised inputs
(scaled with the training rows' mean and spread, as every table is). So each row's inputs
are `[token ids … | numbers and categories …]`: `Dataset.extra_features` says how many
follow the ids, and the word-count models read both.
"""
from __future__ import annotations

import numpy as np

from playground.data.base import Dataset, DatasetInfo, _split, _standardized
from playground.data.columns import Column, Schema
from playground.data.text import text_dataset


def words_dataset(info: DatasetInfo, texts: np.ndarray, X: np.ndarray, y: np.ndarray,
                  seed: int, class_names: list[str], feature_names: list[str],
                  schema: Schema, groups: dict[str, np.ndarray]) -> Dataset:
    """Split 60/20/20 like every dataset; token ids of the text column, then the other
    columns standardised (both fitted on the training split only)."""
    data = text_dataset(info, np.asarray(texts, dtype=object), y, seed, class_names, groups)
    length = data.coder.max_length
    text = next(c for c in schema if c.kind == "text")
    moved = [Column(c.name, c.kind, tuple(i + length for i in c.features), c.categories,
                    c.decimals, c.integer) for c in schema if c.kind != "text"]
    data.schema = Schema((Column(text.name, "text", tuple(range(length))), *moved))
    if X.shape[1] == 0:
        return data
    # The same split as the sentences': it depends only on the row count, y and the seed.
    table = _standardized(info, X.astype(np.float64), y, seed, class_names, feature_names)
    tr, _, _, _, _, _ = _split(np.arange(len(y)), y, seed)
    if not np.array_equal(np.asarray(texts, dtype=object)[tr], data.texts[0]):
        raise RuntimeError("the text and the other columns were split differently")
    data.X_train = np.concatenate([data.X_train, table.X_train], axis=1)
    data.X_val = np.concatenate([data.X_val, table.X_val], axis=1)
    data.X_test = np.concatenate([data.X_test, table.X_test], axis=1)
    data.feature_names = [*data.feature_names, *feature_names]
    data.scale_mean = np.concatenate([np.zeros(length), table.scale_mean])
    data.scale_std = np.concatenate([np.ones(length), table.scale_std])
    return data
