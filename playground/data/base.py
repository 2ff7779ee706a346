"""What a dataset is: its description, its splits, and the helpers that make them."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Literal

import numpy as np

from playground.data.columns import Schema
from playground.data.text_coder import TextCoder

Kind = Literal["image", "tabular", "points", "text"]


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI and config validation need to know without loading the data."""

    name: str
    title: str
    kind: Kind
    description: str
    has_noise: bool = False  # generated sets take a noise level
    # Columns that can name each example's group for the fairness measurements (the
    # run's `sensitive` setting picks one), and the one used when the run names none.
    sensitive_columns: tuple[str, ...] = ()
    default_sensitive: str = ""


@dataclass
class Dataset:
    info: DatasetInfo
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    feature_names: list[str] = field(default_factory=list)
    image_shape: tuple[int, ...] | None = None  # (channels, height, width) for images
    # A sensitive attribute (the group each example belongs to, as words), per split, for
    # the fairness measurements: (train, val, test), and the column's name.
    groups: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    sensitive: str | None = None
    # Every column that can serve as the sensitive attribute: name -> (train, val, test)
    # group labels as words. A run's view (data/views.py) picks one into `groups`.
    group_columns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict)
    # Tables: the scaling the inputs went through (fitted on the training split) and the
    # person's columns behind the inputs, so rows can be shown and edited in their units
    # (playground.data.units). None for pictures.
    scale_mean: np.ndarray | None = None
    scale_std: np.ndarray | None = None
    schema: Schema | None = None
    # Text: the sentences behind each split's token ids, (train, val, test), and the
    # tokenizer that turned them into ids (fitted on the training sentences only).
    texts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    coder: TextCoder | None = None

    @property
    def vocab_size(self) -> int:
        return 0 if self.coder is None else self.coder.vocab_size

    @property
    def extra_features(self) -> int:
        """Text beside other columns: how many standardised inputs follow the token ids."""
        return 0 if self.coder is None else self.n_features - self.coder.max_length

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X_train.shape[1:])


Loader = Callable[[int, float], Dataset]


def fewer_examples(data: Dataset, fraction: float, seed: int) -> Dataset:
    """The same data with only `fraction` of the training split (stratified, seeded, at
    least one example per class). Validation and test stay whole, so scores stay comparable
    with runs on all the data."""
    if fraction >= 1:
        return data
    from sklearn.model_selection import train_test_split

    n, k = len(data.y_train), data.n_classes
    keep = min(n - k, max(k, round(n * fraction)))
    if keep <= 0 or np.bincount(data.y_train, minlength=k).min() < 2:
        return data  # too few examples to split per class: keep them all
    idx, _ = train_test_split(np.arange(n), train_size=keep, random_state=seed,
                              stratify=data.y_train)
    return take_train(data, np.sort(idx))


def take_train(data: Dataset, idx: np.ndarray) -> Dataset:
    """The same data with only these training examples (and their groups)."""
    groups = None if data.groups is None else (data.groups[0][idx], *data.groups[1:])
    texts = None if data.texts is None else (data.texts[0][idx], *data.texts[1:])
    return replace(data, X_train=data.X_train[idx], y_train=data.y_train[idx], groups=groups,
                   texts=texts)


def _split(X: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.model_selection import train_test_split

    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, test_size=0.4, random_state=seed, stratify=y
    )
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    return X_tr, y_tr, X_val, y_val, X_te, y_te


def split_columns(columns: dict[str, np.ndarray], y: np.ndarray, seed: int
                  ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-example columns (group labels) split exactly as `_split` splits X and y: the
    split depends only on the number of rows, y and the seed, so splitting the row numbers
    the same way lines them up with the examples."""
    if not columns:
        return {}
    tr, _, val, _, te, _ = _split(np.arange(len(y)), y, seed)
    return {name: (col[tr], col[val], col[te]) for name, col in columns.items()}


def _standardized(info: DatasetInfo, X, y, seed, class_names, feature_names,
                  schema: Schema | None = None) -> Dataset:
    X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, y, seed)
    if np.isnan(X_tr).any() or np.isnan(X_val).any() or np.isnan(X_te).any():
        # Missing values (uploaded tables) take the training split's median, fitted like
        # the scaling on training data only.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column empty in training
            fill = np.nan_to_num(np.nanmedian(X_tr, axis=0))
        X_tr, X_val, X_te = (np.where(np.isnan(a), fill, a) for a in (X_tr, X_val, X_te))
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0] = 1.0  # constant columns stay at zero instead of dividing by zero
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return Dataset(
        info, scale(X_tr), y_tr.astype(np.int64), scale(X_val), y_val.astype(np.int64),
        scale(X_te), y_te.astype(np.int64), class_names, feature_names,
        scale_mean=mean, scale_std=std, schema=schema,
    )
