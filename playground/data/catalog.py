"""Embedded datasets: nothing is downloaded. Each loader returns fixed, seeded splits.

Splits are 60 / 20 / 20 (train / validation / test), stratified and fixed by the seed.
Scaling is fitted on the training split only, so validation and test stay unseen.
"""
from __future__ import annotations

from playground.data.base import Dataset, DatasetInfo, Loader
from playground.data.builtin import DATASETS, _load_builtin
from playground.data.uploads import folder as uploads

# Datasets handed to this process by whoever sent it work (a Ray node gets its run's data
# through the object store, and has no data folder): (name, seed, noise) -> Dataset.
_shipped: dict[tuple[str, int, float], Dataset] = {}


def use_shipped(datasets: dict[tuple[str, int, float], Dataset]) -> None:
    """Serve these datasets (and their descriptions) instead of reading the data folder."""
    _shipped.clear()
    _shipped.update(datasets)


def _shipped_info(name: str) -> DatasetInfo | None:
    return next((d.info for (n, _, _), d in _shipped.items() if n == name), None)


def _entry(name: str) -> tuple[DatasetInfo, Loader]:
    """A built-in dataset, else one the user uploaded into PLAYGROUND_HOME/data (read from
    disk, so every process finds it: the app, the CLI and the workers)."""
    if name in DATASETS:
        return DATASETS.get(name)
    if (info := _shipped_info(name)) is not None:
        return info, None
    found = uploads.find(name)
    if found is None:
        DATASETS.get(name)  # raises KeyError naming the known datasets
    return found


def dataset_info(name: str) -> DatasetInfo:
    return _entry(name)[0]


def dataset_exists(name: str) -> bool:
    """Built in, or uploaded into this PLAYGROUND_HOME."""

    return name in DATASETS or _shipped_info(name) is not None or uploads.find(name) is not None


def sensitive_problem(name: str, column: str) -> str | None:
    """Why `column` can't be the sensitive attribute of dataset `name` (a sentence naming
    the columns that can), or None. Reads only descriptions, never the data."""
    info = dataset_info(name)
    if column in info.sensitive_columns:
        return None
    if info.kind != "tabular":
        return (f"sensitive: {name} is {info.kind} data, with no column that names groups; "
                "leave it empty, or use loans or an uploaded table")
    manifest = uploads.manifest_of(name)
    if manifest is not None:
        return uploads.sensitive_problem(manifest, column)
    known = ", ".join(f"'{c}'" for c in info.sensitive_columns)
    return (f"sensitive: {name} has no column '{column}' that names groups; "
            + (f"known columns: {known}" if known else
               "it has none (leave it empty, or use loans or an uploaded table)"))


def all_dataset_infos() -> list[DatasetInfo]:
    """The built-in datasets (see uploaded_dataset_infos for the user's own)."""
    return [DATASETS.get(n)[0] for n in DATASETS.names()]


def uploaded_dataset_infos() -> list[DatasetInfo]:
    return uploads.all_infos()


def load_dataset(name: str, seed: int = 0, noise: float = 0.2) -> Dataset:
    """Load (and cache per process) a dataset's seeded splits."""
    if (name, seed, noise) in _shipped:
        return _shipped[(name, seed, noise)]
    if name not in DATASETS:
        return uploads.load(name, seed)  # cached by the file's content, not by its name
    return _load_builtin(name, seed, noise)
