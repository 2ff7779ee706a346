"""Uploads checked away from the app's server: the page stages the bytes, a worker prepares
them, and the page reads what was found.

    <data folder>/staging/<digest>.upload            the uploaded bytes (0600), named by content
    <data folder>/staging/<digest>-<key>.json        what was found: names, notes, columns, or
                                                     the problems; written last, so its presence
                                                     says the rest is complete
    <data folder>/staging/<digest>-<key>.npz         the arrays (inputs, classes, group columns)

`key` stands for the file name and the chosen target. Nothing is pickled: arrays go through
`np.savez` / `np.load(allow_pickle=False)`, the rest through JSON. Staged files are removed
once the upload is saved, and by `clean` after a day.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from playground.common.files import replace_atomically
from playground.common.formatting import human_bytes
from playground.common.paths import data_root
from playground.data.columns import Schema
from playground.data.uploads.folder import file_kind, prepare
from playground.data.uploads.limits import (
    MAX_UPLOAD_BYTES,
    PREPARE_SECONDS,
    Prepared,
    UploadError,
)
from playground.data.uploads.tables import guess_target, read_table

STAGING = "staging"
KEEP_SECONDS = 86_400.0  # staged files nobody saved are removed after a day
PLACEHOLDER_NAME = "upload"  # prepare() checks names; the person names it on the page


@dataclass
class Outcome:
    """What a worker found in a staged upload: the prepared data, or the problems. `columns`
    are a table's columns (to choose the target from), when the table could be read."""

    prepared: Prepared | None
    problems: list[str] = field(default_factory=list)
    columns: list[str] | None = None
    target: str | None = None  # the column predicted (guessed when none was chosen)


def staging_dir(home=None) -> Path:
    return data_root(home).parent / STAGING


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stage(data: bytes, filename: str, home=None) -> str:
    """Keep the uploaded bytes for a worker (once per content); returns their digest."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{filename} is {human_bytes(len(data), 'MB')}, above the upload limit of "
            f"{human_bytes(MAX_UPLOAD_BYTES, 'MB')}. Fix: upload a sample of it (fewer rows or "
            "pictures).")
    digest = digest_of(data)
    path = staging_dir(home) / f"{digest}.upload"
    try:
        os.utime(path)  # staged already: kept another day from now
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_atomically(path, lambda tmp: _write_private(tmp, data))
    return digest


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def key_of(digest: str, filename: str, target: str | None) -> str:
    """The name of one check of one staged upload: its content, file name and target."""
    spec = json.dumps([Path(filename).name, target])
    return f"{digest}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"


# -- in a worker -------------------------------------------------------------------------------
def prepare_staged(digest: str, filename: str, target: str | None = None, home=None,
                   seconds: float = PREPARE_SECONDS) -> Outcome:
    """Check a staged upload (`prepare` with a time limit) and keep what was found beside it.
    A table with no target chosen is prepared for the guessed one, and its columns listed."""
    key = key_of(digest, filename, target)
    deadline = time.monotonic() + seconds
    columns = None
    try:
        path = staging_dir(home) / f"{digest}.upload"
        try:
            data = path.read_bytes()
        except OSError:
            raise UploadError(f"{filename} is no longer here (kept for a day). Fix: upload "
                              "it again.") from None
        if digest_of(data) != digest:
            raise UploadError(f"{filename} changed while it waited. Fix: upload it again.")
        if file_kind(data, filename) == "csv":
            columns = list(read_table(data, filename)[0].columns)
            target = target or guess_target(columns)
        outcome = Outcome(prepare(data, filename, target, PLACEHOLDER_NAME, deadline),
                          columns=columns, target=target)
    except UploadError as exc:
        outcome = Outcome(None, exc.problems, columns, target)
    write_outcome(key, outcome, home)
    return outcome


# -- the files -----------------------------------------------------------------------------
def write_outcome(key: str, outcome: Outcome, home=None) -> None:
    """Arrays to .npz, the rest to .json (written last: readers wait for it)."""
    base = staging_dir(home) / key
    base.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    p = outcome.prepared
    about: dict = {"problems": outcome.problems, "columns": outcome.columns,
                   "target": outcome.target, "prepared": None}
    if p is not None:
        groups = list(p.groups)
        arrays = {"X": p.X, "y": p.y, **{f"group_{i}": p.groups[c] for i, c in enumerate(groups)}}
        if p.texts is not None:  # a unicode array: no pickle needed to read it back
            arrays["texts"] = np.asarray(p.texts, dtype=str)
        replace_atomically(base.with_suffix(".npz"), lambda tmp: _save_arrays(tmp, arrays))
        about["prepared"] = {
            "name": p.name, "kind": p.kind, "class_names": p.class_names,
            "feature_names": p.feature_names, "source": p.source, "notes": p.notes,
            "target": p.target, "image_shape": list(p.image_shape) if p.image_shape else None,
            "preview": _frame_to_json(p.preview), "group_columns": groups,
            "not_groups": p.not_groups, "sensitive": p.sensitive,
            "schema": p.schema.to_json() if p.schema is not None else None,
            "leave_out": list(p.leave_out), "text_column": p.text_column}
    replace_atomically(base.with_suffix(".json"),
                       lambda tmp: _write_private(tmp, json.dumps(about).encode()))


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **arrays)


def read_outcome(key: str, home=None) -> Outcome | None:
    """What a worker found for `key`, or None while it has not finished."""
    path = staging_dir(home) / f"{key}.json"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read(str(path), mtime)


@lru_cache(maxsize=8)
def _read(path: str, mtime: int) -> Outcome | None:
    try:
        about = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    d = about["prepared"]
    if d is None:
        return Outcome(None, list(about["problems"]), about["columns"], about["target"])
    with np.load(Path(path).with_suffix(".npz"), allow_pickle=False) as arrays:
        X, y = arrays["X"], arrays["y"]
        groups = {c: arrays[f"group_{i}"] for i, c in enumerate(d["group_columns"])}
        texts = arrays["texts"] if "texts" in arrays else None
    prepared = Prepared(
        d["name"], d["kind"], X, y, list(d["class_names"]), list(d["feature_names"]),
        d["source"], list(d["notes"]), target=d["target"],
        image_shape=tuple(d["image_shape"]) if d["image_shape"] else None,
        preview=_frame_from_json(d["preview"]), groups=groups, not_groups=d["not_groups"],
        sensitive=d["sensitive"],
        schema=Schema.from_json(d["schema"]) if d["schema"] is not None else None,
        leave_out=tuple(d["leave_out"]), text_column=d.get("text_column", ""), texts=texts)
    return Outcome(prepared, [], about["columns"], about["target"])


def _frame_to_json(frame) -> dict | None:
    """A table's first rows (strings, missing cells as None)."""
    if frame is None:
        return None
    rows = [[None if isinstance(v, float) and v != v else v for v in row]
            for row in frame.itertuples(index=False, name=None)]
    return {"columns": list(frame.columns), "rows": rows,
            "dtypes": [str(t) for t in frame.dtypes]}


def _frame_from_json(data: dict | None):
    if data is None:
        return None
    import pandas as pd

    rows = [[np.nan if v is None else v for v in row] for row in data["rows"]]
    frame = pd.DataFrame(rows, columns=data["columns"], dtype=object)
    return frame.astype(dict(zip(frame.columns, data["dtypes"], strict=True)))


# -- tidying -------------------------------------------------------------------------------
def discard(digest: str, home=None) -> int:
    """Remove a staged upload and everything found in it (it was saved); returns how many
    files went."""
    gone = 0
    for path in staging_dir(home).glob(f"{digest}*"):
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def clean(home=None, older_than_s: float = KEEP_SECONDS) -> int:
    """Remove staged files older than `older_than_s` (nobody saved them); returns how many."""
    root = staging_dir(home)
    if not root.is_dir():
        return 0
    cutoff, gone = time.time() - older_than_s, 0
    for path in root.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                gone += 1
        except OSError:
            continue  # removed meanwhile
    return gone
