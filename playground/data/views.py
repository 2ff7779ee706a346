"""A run's view of its dataset: which classes it keeps, which it makes rare, and how much of
the training split it uses. Every process that needs a run's data (the worker, the
explanations, the exported evaluate.py, a Ray node) builds it here, so all see the same
examples."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from playground.common.paths import default_home
from playground.common.registry import Registry
from playground.data.base import Dataset, fewer_examples, take_train
from playground.data.catalog import load_dataset
from playground.data.columns import Column, Schema, schema_from_feature_names
from playground.data.text_coder import TextCoder

# A pretraining run keeps its tokenizer in its run folder under this name.
TOKENIZER_FILE = "tokenizer.json"

# Where a text run's tokenizer comes from when it is not the one learnt from its own training
# split: each entry, registered by the technique that decides it (a fine-tune reads with its
# pretraining run's tokenizer), maps a config to the id of the run whose tokenizer it reads,
# or None. Registered, not imported, so this layer never looks up at the techniques.
TOKENIZER_RUNS: Registry[Callable[[Any], str | None]] = Registry("tokenizer source")


def tokenizer_path(run_id: str, home: str | Path | None = None) -> Path:
    return (Path(home) if home else default_home()) / "runs" / run_id / TOKENIZER_FILE


@lru_cache(maxsize=16)
def _coder_at(path: str, mtime: float) -> TextCoder:
    return TextCoder.from_json(Path(path).read_text())


def run_coder(run_id: str, home: str | Path | None = None) -> TextCoder | None:
    """The tokenizer a run kept in its folder (a pretraining run's), or None."""
    path = tokenizer_path(run_id, home)
    if not path.exists():
        return None
    return _coder_at(str(path), path.stat().st_mtime)


def tokenizer_run(config) -> str | None:
    """The run whose tokenizer this run reads its sentences with, if not its own."""
    for name in TOKENIZER_RUNS:
        if (run_id := TOKENIZER_RUNS.get(name)(config)) and run_coder(run_id) is not None:
            return run_id
    return None


def recoded(data: Dataset, coder: TextCoder) -> Dataset:
    """Text data read with another tokenizer: the same sentences, that tokenizer's ids."""
    if data.texts is None:
        raise ValueError(f"{data.info.name} is {data.info.kind} data; only sentences can be "
                         "read with a pretrained model's word pieces")
    X_train, X_val, X_test = (coder.encode(t) for t in data.texts)
    return replace(data, X_train=X_train, X_val=X_val, X_test=X_test, coder=coder,
                   feature_names=[f"position {i}" for i in range(coder.max_length)])


def class_positions(spec: str, class_names: list[str], setting: str = "classes") -> list[int]:
    """The classes a spec names, as positions: "0-4", "1,3,7", "benign" (names first, then
    positions; a range a-b is inclusive). ValueError names the problem and the fix."""
    spec = (spec or "").strip()
    if not spec:
        return []
    known = {name: i for i, name in enumerate(class_names)}
    found: list[int] = []
    for token in (t.strip() for t in spec.split(",")):
        if token in known:
            found.append(known[token])
            continue
        low, dash, high = token.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            first = last = -1
        if not (0 <= first <= last < len(class_names)):
            raise ValueError(
                f"{setting}: {token!r} is not a class of this dataset; name classes by label "
                f"({', '.join(class_names[:12])}{', ...' if len(class_names) > 12 else ''}) "
                f"or by position 0-{len(class_names) - 1}, e.g. 0-4 or 1,3")
        found.extend(range(first, last + 1))
    return sorted(set(found))


def keep_classes(data: Dataset, positions: list[int]) -> Dataset:
    """Only these classes, in every split, labelled 0..k-1 in their order."""
    if not positions or len(positions) == data.n_classes:
        return data
    relabel = np.full(data.n_classes, -1, dtype=np.int64)
    relabel[positions] = np.arange(len(positions))
    splits: dict[str, Any] = {}
    groups = list(data.groups) if data.groups is not None else None
    for i, part in enumerate(("train", "val", "test")):
        y = getattr(data, f"y_{part}")
        mask = relabel[y] >= 0
        splits[f"X_{part}"] = getattr(data, f"X_{part}")[mask]
        splits[f"y_{part}"] = relabel[y[mask]]
        if groups is not None:
            groups[i] = groups[i][mask]
    return replace(data, **splits, class_names=[data.class_names[p] for p in positions],
                   groups=tuple(groups) if groups is not None else None)


def default_rare(n_classes: int) -> list[int]:
    """Without a choice, the second half of the classes become rare (the last of two)."""
    return list(range(n_classes // 2, n_classes)) if n_classes > 2 else [n_classes - 1]


def make_rare(data: Dataset, ratio: float, positions: list[int], seed: int) -> Dataset:
    """The rare classes keep `ratio` of their training examples (at least one each, seeded);
    the other classes, validation and test stay as they are."""
    if ratio >= 1:
        return data
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(data.n_classes):
        idx = np.flatnonzero(data.y_train == c)
        if c in positions and len(idx):
            idx = rng.choice(idx, max(1, round(len(idx) * ratio)), replace=False)
        keep.append(idx)
    return take_train(data, np.sort(np.concatenate(keep)))


def rare_positions(config, data: Dataset) -> list[int]:
    """Which classes of the run's kept classes its imbalance makes rare (positions after
    keep_classes); empty when it makes none rare."""
    if getattr(config, "imbalance", 1.0) >= 1:
        return []
    spec = getattr(config, "rare_classes", "")
    if not spec:
        return default_rare(data.n_classes)
    return class_positions(spec, data.class_names, "rare_classes")


def with_groups(data: Dataset, column: str) -> Dataset:
    """The data with each example's group from `column` (empty: the dataset's default
    sensitive column, if it has one). ValueError names the columns that can."""
    column = column or data.info.default_sensitive
    if not column:
        return data
    if column not in data.group_columns:
        known = ", ".join(data.group_columns) or "none"
        raise ValueError(f"sensitive: {data.info.name} has no column {column!r} that names "
                         f"groups; columns that can: {known}")
    return replace(data, groups=data.group_columns[column], sensitive=column)


def column_names(spec: str) -> list[str]:
    """The columns a leave-out setting names: "gender, region" -> ["gender", "region"]."""
    return [c.strip() for c in (spec or "").split(",") if c.strip()]


def table_schema(data: Dataset) -> Schema:
    """The person's columns behind a table's inputs (a best guess for built-in sets)."""
    return (data.schema if data.schema is not None and len(data.schema)
            else schema_from_feature_names(data.feature_names))


def leave_out_problem(data: Dataset, spec: str) -> str | None:
    """Why these columns can't be left out of the model's inputs, or None."""
    names = column_names(spec)
    if not names:
        return None
    if data.info.kind != "tabular" and not (data.schema is not None and len(data.schema)):
        return (f"leave_out: {data.info.name} is {data.info.kind} data; only the columns of a "
                "table can be left out")
    if text := [c.name for c in table_schema(data) if c.kind == "text" and c.name in names]:
        return f"leave_out: '{text[0]}' is the text the model reads; it can't be left out"
    known = table_schema(data).names
    unknown = [n for n in names if n not in known]
    if unknown:
        return (f"leave_out: {data.info.name} has no input column "
                f"{', '.join(repr(n) for n in unknown)}; its input columns: "
                f"{', '.join(known)}")
    if len(set(names)) >= len(known):
        return "leave_out: keep at least one input column, or the model has nothing to go on"
    return None


def leave_out(data: Dataset, spec: str) -> Dataset:
    """The data without these columns among the model's inputs (every input a column became:
    all its 0/1 columns). Their groups stay, so a run can still be audited by a column the
    model never saw. ValueError (from `leave_out_problem`) for columns it doesn't have."""
    names = set(column_names(spec))
    if not names:
        return data
    if problem := leave_out_problem(data, spec):
        raise ValueError(problem)
    schema = table_schema(data)
    kept_columns = [c for c in schema if c.name not in names]
    keep = [i for c in kept_columns for i in c.features]
    position = {old: new for new, old in enumerate(keep)}
    columns = tuple(Column(c.name, c.kind, tuple(position[i] for i in c.features),
                           c.categories, c.decimals, c.integer) for c in kept_columns)
    pick = np.asarray(keep)
    return replace(
        data, X_train=data.X_train[:, pick], X_val=data.X_val[:, pick],
        X_test=data.X_test[:, pick], feature_names=[data.feature_names[i] for i in keep],
        scale_mean=None if data.scale_mean is None else np.asarray(data.scale_mean)[pick],
        scale_std=None if data.scale_std is None else np.asarray(data.scale_std)[pick],
        schema=Schema(columns))


def run_data(config) -> Dataset:
    """The examples a run learns and is scored on, from its config (any object with the
    RunConfig's data fields)."""
    data = load_dataset(config.dataset, config.seed, config.noise)
    if (source := tokenizer_run(config)) is not None:
        data = recoded(data, run_coder(source))
    data = with_groups(data, getattr(config, "sensitive", ""))
    data = leave_out(data, getattr(config, "leave_out", ""))
    data = keep_classes(data, class_positions(getattr(config, "classes", ""),
                                              data.class_names))
    data = make_rare(data, getattr(config, "imbalance", 1.0), rare_positions(config, data),
                     config.seed)
    return fewer_examples(data, config.train_fraction, config.seed)
