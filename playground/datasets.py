"""Embedded datasets: nothing is downloaded. Each loader returns fixed, seeded splits.

Splits are 60 / 20 / 20 (train / validation / test), stratified and fixed by the seed.
Scaling is fitted on the training split only, so validation and test stay unseen.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Literal

import numpy as np

from playground.registry import Registry

Kind = Literal["image", "tabular", "points"]


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI and config validation need to know without loading the data."""

    name: str
    title: str
    kind: Kind
    description: str
    has_noise: bool = False  # generated sets take a noise level


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
DATASETS: Registry[tuple[DatasetInfo, Loader]] = Registry("dataset")


def register(info: DatasetInfo) -> Callable[[Loader], Loader]:
    def decorator(loader: Loader) -> Loader:
        DATASETS.register(info.name)((info, loader))
        return loader

    return decorator


def _entry(name: str) -> tuple[DatasetInfo, Loader]:
    """A built-in dataset, else one the user uploaded into PLAYGROUND_HOME/data (read from
    disk, so every process finds it: the app, the CLI and the workers)."""
    if name in DATASETS:
        return DATASETS.get(name)
    from playground import uploads

    found = uploads.find(name)
    if found is None:
        DATASETS.get(name)  # raises KeyError naming the known datasets
    return found


def dataset_info(name: str) -> DatasetInfo:
    return _entry(name)[0]


def dataset_exists(name: str) -> bool:
    """Built in, or uploaded into this PLAYGROUND_HOME."""
    from playground import uploads

    return name in DATASETS or uploads.find(name) is not None


def all_dataset_infos() -> list[DatasetInfo]:
    """The built-in datasets (see uploaded_dataset_infos for the user's own)."""
    return [DATASETS.get(n)[0] for n in DATASETS.names()]


def uploaded_dataset_infos() -> list[DatasetInfo]:
    from playground import uploads

    return uploads.all_infos()


def load_dataset(name: str, seed: int = 0, noise: float = 0.2) -> Dataset:
    """Load (and cache per process) a dataset's seeded splits."""
    if name not in DATASETS:
        from playground import uploads

        return uploads.load(name, seed)  # cached by the file's content, not by its name
    return _load_builtin(name, seed, noise)


@lru_cache(maxsize=32)
def _load_builtin(name: str, seed: int, noise: float) -> Dataset:
    return DATASETS.get(name)[1](seed, noise)


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
    idx = np.sort(idx)
    return replace(data, X_train=data.X_train[idx], y_train=data.y_train[idx])


def _split(X: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.model_selection import train_test_split

    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, test_size=0.4, random_state=seed, stratify=y
    )
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    return X_tr, y_tr, X_val, y_val, X_te, y_te


def _standardized(info: DatasetInfo, X, y, seed, class_names, feature_names) -> Dataset:
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
    )


@register(DatasetInfo(
    "digits", "Handwritten digits (8×8 images)", "image",
    "1,797 tiny greyscale pictures of the digits 0–9, from scikit-learn.",
))
def _digits(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    # Pixels run 0..16 in the source; a fixed division keeps them in 0..1 without
    # looking at any split.
    X = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, d.target, seed)
    info = dataset_info("digits")
    return Dataset(
        info, X_tr, y_tr.astype(np.int64), X_val, y_val.astype(np.int64), X_te,
        y_te.astype(np.int64), [str(c) for c in range(10)],
        [f"pixel ({r},{c})" for r in range(8) for c in range(8)], image_shape=(1, 8, 8),
    )


@register(DatasetInfo(
    "breast_cancer", "Breast cancer (30 measurements)", "tabular",
    "569 tumour samples described by 30 measurements; is it malignant or benign?",
))
def _breast_cancer(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return _standardized(dataset_info("breast_cancer"), d.data, d.target, seed,
                         [str(n) for n in d.target_names], [str(f) for f in d.feature_names])


@register(DatasetInfo(
    "wine", "Wine (13 chemical measurements)", "tabular",
    "178 wines from three growers, told apart by their chemistry.",
))
def _wine(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_wine

    d = load_wine()
    return _standardized(dataset_info("wine"), d.data, d.target, seed,
                         [str(n).replace("_", " ") for n in d.target_names],
                         [str(f) for f in d.feature_names])


N_POINTS = 600


@register(DatasetInfo(
    "moons", "Two moons (2-D points)", "points",
    "Two interleaving half circles of points; a straight line cannot split them.", True,
))
def _moons(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(N_POINTS, noise=noise, random_state=seed)
    return _standardized(dataset_info("moons"), X, y, seed, ["upper", "lower"], ["x", "y"])


@register(DatasetInfo(
    "circles", "Circles (2-D points)", "points",
    "A ring of points around a smaller ring; only a curved boundary separates them.", True,
))
def _circles(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import make_circles

    X, y = make_circles(N_POINTS, noise=noise * 0.5, factor=0.5, random_state=seed)
    return _standardized(dataset_info("circles"), X, y, seed, ["outer", "inner"], ["x", "y"])


@register(DatasetInfo(
    "spirals", "Spirals (2-D points)", "points",
    "Two arms of a spiral wound into each other; the hardest of the 2-D sets.", True,
))
def _spirals(seed: int, noise: float) -> Dataset:
    rng = np.random.default_rng(seed)
    n = N_POINTS // 2
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3 * np.pi  # denser near the centre
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    X = np.concatenate([arm, -arm]) + rng.normal(0.0, noise * 0.3, (2 * n, 2))
    y = np.concatenate([np.zeros(n, int), np.ones(n, int)])
    return _standardized(dataset_info("spirals"), X, y, seed, ["arm A", "arm B"], ["x", "y"])
