"""Rows in the person's own units, and back: the run's own preprocessing, both ways.

A table run's model sees standardised inputs (each input minus the training split's mean,
divided by its spread; categories as 0/1 inputs or codes). People see their CSV's values.
`RowCodec(data)` converts one way and the other with the dataset's own scaling and column
schema, so an edit "income 42,000 → 51,000" is exactly the standardised edit it stands for.
A column of free text read as words is its sentence (the token ids' words, lower-cased as
the tokenizer reads them) one way and the tokenizer's ids the other.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from playground.data.base import Dataset
from playground.data.columns import Column, Schema, schema_from_feature_names

Value = float | str


class UnitsError(ValueError):
    """A value the person typed that the column can't take; `problem` says which and why."""

    def __init__(self, problem: str):
        self.problem = problem
        super().__init__(problem)


class RowCodec:
    """Between a table dataset's model inputs (standardised, as in `data.X_test`) and rows
    in the uploaded units ({column: number or category})."""

    def __init__(self, data: Dataset):
        if data.info.kind == "image":
            raise ValueError("pictures have no columns to convert")
        n = data.n_features
        self.mean = (np.zeros(n) if data.scale_mean is None
                     else np.asarray(data.scale_mean, dtype=np.float64))
        self.std = (np.ones(n) if data.scale_std is None
                    else np.asarray(data.scale_std, dtype=np.float64))
        self.schema: Schema = (data.schema if data.schema is not None and len(data.schema)
                               else schema_from_feature_names(data.feature_names))
        self.n_features = n
        self.coder = data.coder
        train = self.raw_inputs(data.X_train)
        # The training rows' range per number column, for editors and realistic changes.
        self.ranges = {c.name: (float(train[:, c.features[0]].min()),
                                float(train[:, c.features[0]].max()))
                       for c in self.schema if c.kind == "number"}

    # -- the encoded inputs before scaling (numbers in the CSV's units, categories 0/1/codes)
    def raw_inputs(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1) * self.std + self.mean

    def scaled_inputs(self, encoded: np.ndarray) -> np.ndarray:
        return ((np.asarray(encoded, dtype=np.float64) - self.mean) / self.std).astype(
            np.float32)

    # -- one row --------------------------------------------------------------------------
    def to_raw(self, x: np.ndarray) -> dict[str, Value]:
        """The row `x` (model inputs, standardised) as {column: value in uploaded units}."""
        encoded = self.raw_inputs(np.asarray(x).reshape(1, -1))[0]
        return {c.name: _decode(c, encoded, self.coder) for c in self.schema}

    def to_model(self, row: Mapping[str, Any], base: np.ndarray | None = None) -> np.ndarray:
        """Model inputs (standardised, float32) for a row in uploaded units. Columns missing
        from `row` keep their value in `base` (a model-input row), else the training mean."""
        encoded = (self.raw_inputs(np.asarray(base).reshape(1, -1))[0] if base is not None
                   else self.mean.copy())
        for column in self.schema:
            if column.name in row:
                _encode(column, row[column.name], encoded, self.coder)
        return self.scaled_inputs(encoded[None, :])[0]

    def frame(self, X: np.ndarray):
        """Rows as a DataFrame in uploaded units, one column per CSV column."""
        import pandas as pd

        encoded = self.raw_inputs(X)
        return pd.DataFrame([{c.name: _decode(c, row, self.coder) for c in self.schema}
                             for row in encoded])

    def input_labels(self, x: np.ndarray) -> list[str]:
        """A name per model input for this row, in the person's units: "annual_income =
        42,000", "gender = F"; a one-hot input "region = West" or "region ≠ West" as the row
        is or is not in the West (what that input's explanation is about)."""
        raw = self.to_raw(x)
        labels = [""] * self.n_features
        for c in self.schema:
            value = raw[c.name]
            if c.kind == "text":
                for feature, piece in zip(c.features, _pieces(c, self._encoded(x), self.coder),
                                          strict=True):
                    labels[feature] = f"{c.name}: {piece}" if piece else ""
            elif c.kind == "one_hot":
                for feature, category in zip(c.features, c.categories, strict=True):
                    sign = "=" if category == value else "≠"
                    labels[feature] = f"{c.name} {sign} {category}"
            else:
                labels[c.features[0]] = f"{c.name} = {self.format(c.name, value)}"
        return labels

    def _encoded(self, x: np.ndarray) -> np.ndarray:
        return self.raw_inputs(np.asarray(x).reshape(1, -1))[0]

    def format(self, column: str, value: Value) -> str:
        """A value as a person reads it: numbers with the CSV's decimals and thousands
        separators, categories as written."""
        c = self.schema.get(column)
        if c is None or c.kind != "number" or isinstance(value, str):
            return str(value)
        return f"{float(value):,.{0 if c.integer else c.decimals}f}"


def _pieces(column: Column, encoded: np.ndarray, coder) -> list[str]:
    """The word piece at each of a text column's positions ("" for padding and markers)."""
    specials = set(coder.special_ids)
    ids = [int(round(v)) for v in encoded[list(column.features)]]
    return ["" if i in specials else coder.tokenizer.id_to_token(i) or "" for i in ids]


def _decode(column: Column, encoded: np.ndarray, coder=None) -> Value:
    values = encoded[list(column.features)]
    if column.kind == "text":
        ids = [int(round(v)) for v in values]
        return coder.tokenizer.decode(ids, skip_special_tokens=True)
    if column.kind == "number":
        v = float(values[0])
        return float(round(v)) if column.integer else round(v, column.decimals)
    if column.kind == "binary":
        return column.categories[int(values[0] >= 0.5)]
    if column.kind == "one_hot":
        return column.categories[int(np.argmax(values))]
    code = int(np.clip(round(float(values[0])), 0, len(column.categories) - 1))
    return column.categories[code]


def _encode(column: Column, value: Any, encoded: np.ndarray, coder=None) -> None:
    if column.kind == "text":
        encoded[list(column.features)] = coder.encode([str(value)])[0]
        return
    if column.kind == "number":
        try:
            number = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
        except ValueError:
            raise UnitsError(f"'{column.name}' takes a number; got {value!r}. Fix: type a "
                             "number such as 42000 (no currency sign).") from None
        encoded[column.features[0]] = number
        return
    text = str(value)
    if text not in column.categories:
        raise UnitsError(f"'{column.name}' has no value {text!r}. Fix: pick one of "
                         f"{', '.join(column.categories[:12])}.")
    index = column.categories.index(text)
    if column.kind == "binary":
        encoded[column.features[0]] = float(index)
    elif column.kind == "one_hot":
        for k, feature in enumerate(column.features):
            encoded[feature] = float(k == index)
    else:
        encoded[column.features[0]] = float(index)
