"""Bring your own data: a CSV table or a ZIP of pictures (one folder per class).

Everything here is pure (no Streamlit) and shared by the app, the CLI and the workers:

- `prepare(data, filename, target)` reads an upload into a `Prepared` dataset or raises
  `UploadError` whose `problems` each name the problem and the fix.
- `save(prepared)` writes `<PLAYGROUND_HOME>/data/<name>/` (dataset.npz + manifest.json)
  atomically: a failed or refused upload changes nothing that was there before.
- `find(name)` / `load(name, seed)` let `playground.datasets` find uploaded sets in every
  process (workers included) by reading that folder.

Safety: uploaded bytes are parsed as CSV text or decoded as pictures, never executed or
unpickled (`np.load(..., allow_pickle=False)`, no pickle anywhere). ZIP members are read
in memory with a size cap and never extracted to disk, so a member name like
`../../etc/passwd` cannot write anywhere; such names are refused anyway.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from playground.common.formatting import human_bytes
from playground.common.paths import data_root
from playground.common.permissions import LOCAL, Actor, Place, Refused, check
from playground.data.base import Dataset, DatasetInfo, _split, _standardized, split_columns
from playground.data.builtin import DATASETS
from playground.data.columns import Schema, schema_from_feature_names
from playground.data.uploads.limits import (
    ACCEPTED,
    DATA_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MAX_UPLOAD_BYTES,
    NAME_PATTERN,
    TABLE_EXTENSIONS,
    Prepared,
    UploadError,
)
from playground.data.uploads.pictures import _prepare_zip
from playground.data.uploads.tables import _prepare_csv
from playground.data.uploads.words import words_dataset


def name_problem(name: str) -> str | None:
    """Why `name` can't name a dataset, or None."""

    if not NAME_PATTERN.match(name or ""):
        return (f"The name {name!r} can't be used: use 1 to 40 lowercase letters, digits or "
                "underscores, starting with a letter (for example 'my_customers').")
    if name in DATASETS:
        return f"The name {name!r} belongs to a built-in dataset: pick another name."
    return None


def suggest_name(filename: str, home=None) -> str:
    """A free dataset name made from the file name, e.g. 'Churn 2024.csv' -> 'churn_2024'."""

    stem = re.sub(r"[^a-z0-9]+", "_", Path(filename).stem.lower()).strip("_")[:32] or "data"
    if not stem[0].isalpha():
        stem = "data_" + stem
    name, n = stem, 2
    while name in DATASETS or (data_root(home) / name).exists():
        name, n = f"{stem}_{n}", n + 1
    return name


# -- entry point -------------------------------------------------------------------------------
def prepare(data: bytes, filename: str, target: str | None = None,
            name: str | None = None, deadline: float | None = None) -> Prepared:
    """Read and check an upload. Raises UploadError naming each problem and its fix, and
    past `deadline` (a `time.monotonic()` value; None: no limit) that it took too long."""
    name = name or suggest_name(filename)
    if problem := name_problem(name):
        raise UploadError(problem)
    kind = file_kind(data, filename)
    source = {"file": Path(filename).name, "bytes": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    if kind == "zip":
        return _prepare_zip(data, filename, name, source, deadline)
    return _prepare_csv(data, filename, target, name, source, deadline)


def file_kind(data: bytes, filename: str) -> str:
    """'csv' or 'zip'; refuses files above the limit, empty ones and other formats."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{filename} is {human_bytes(len(data), 'MB')}, above the upload limit of "
            f"{human_bytes(MAX_UPLOAD_BYTES, 'MB')}. Fix: upload a sample of it (fewer rows or "
            "pictures).")
    if not data:
        raise UploadError(f"{filename} is empty. Fix: upload {ACCEPTED}.")
    return _sniff(data, filename)


def _sniff(data: bytes, filename: str) -> str:
    """'csv' or 'zip' from the content (and the extension for the message), else refuse."""
    ext = Path(filename).suffix.lower()
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if ext in (".xlsx", ".xlsm", ".ods", ".numbers", ".docx"):
            raise UploadError(
                f"{filename} is a spreadsheet workbook, not a CSV. Fix: open it and save "
                "the sheet as CSV (File → Save As → CSV), then upload the .csv file.")
        if ext in TABLE_EXTENSIONS:
            raise UploadError(
                f"{filename} is named like a table but holds a ZIP archive. Fix: rename it "
                "to .zip if it is a ZIP of pictures, or export the table as CSV.")
        return "zip"
    if ext == ".zip":
        raise UploadError(
            f"{filename} is not a valid ZIP archive (it may be damaged or renamed). Fix: "
            "zip the folder of class folders again and upload that file.")
    known = {
        b"\x89PNG": "a single PNG picture", b"\xff\xd8\xff": "a single JPEG picture",
        b"GIF8": "a single GIF picture", b"%PDF": "a PDF document",
        b"\x93NUMPY": "a NumPy array file", b"\x1f\x8b": "a gzip archive",
        b"PAR1": "a Parquet file", b"\xd0\xcf\x11\xe0": "an old Excel / Office file",
    }
    for magic, what in known.items():
        if head.startswith(magic):
            fix = ("zip a folder per class of pictures and upload the ZIP"
                   if "picture" in what else f"export the data as {ACCEPTED}")
            raise UploadError(f"{filename} is {what}, which can't be used here. Fix: {fix}.")
    if head[:1] == b"\x80" or ext in (".pkl", ".pickle", ".npy", ".npz", ".pt", ".joblib"):
        raise UploadError(
            f"{filename} looks like a pickled Python / NumPy / PyTorch file. Such files can "
            f"run code when opened, so they are never opened here. Fix: export the data as "
            f"{ACCEPTED}.")
    if b"\x00" in data[:65536]:
        raise UploadError(f"{filename} is a binary file, not text. Fix: upload {ACCEPTED}.")
    if ext not in TABLE_EXTENSIONS:
        raise UploadError(
            f"{filename}: files ending in '{ext or '(no extension)'}' can't be read here. "
            f"Fix: upload {ACCEPTED}.")
    return "csv"


# -- saving and finding ------------------------------------------------------------------------
def save(prepared: Prepared, home=None, actor: Actor = LOCAL) -> Path:
    """Write the dataset folder atomically, as `actor`'s upload (in a workshop: theirs, in
    it); refuse a name already in use (nothing is overwritten: runs trained on the old data
    would silently change meaning)."""
    if problem := name_problem(prepared.name):
        raise UploadError(problem)
    try:
        check(actor, "upload", Place(actor.workspace, actor.name))
    except Refused as exc:
        raise UploadError(exc.problem) from None
    root = data_root(home)
    final = root / prepared.name
    if final.exists():
        raise UploadError(f"A dataset named '{prepared.name}' already exists. Fix: pick "
                          "another name (the existing one is kept as it is).")
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT_VERSION, "name": prepared.name, "kind": prepared.kind,
        "title": prepared.title, "description": prepared.description,
        "class_names": prepared.class_names, "feature_names": prepared.feature_names,
        "image_shape": list(prepared.image_shape) if prepared.image_shape else None,
        "target": prepared.target, "rows": int(len(prepared.y)),
        "class_counts": prepared.class_counts, "notes": prepared.notes,
        "source": prepared.source, "created": time.time(),
        "workspace": actor.workspace, "owner": actor.name if actor.in_workshop else None,
        "group_columns": list(prepared.groups), "not_groups": prepared.not_groups,
        "sensitive": prepared.sensitive,
        "columns": prepared.schema.to_json() if prepared.schema is not None else None,
        "leave_out": list(prepared.leave_out), "text_column": prepared.text_column,
    }
    if problem := leave_out_problem(prepared):
        raise UploadError(problem)
    if prepared.sensitive and prepared.sensitive not in prepared.groups:
        raise UploadError(sensitive_problem(manifest, prepared.sensitive))
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        columns = {f"group_{i}": v for i, v in enumerate(prepared.groups.values())}
        if prepared.kind == "text":  # a unicode array: read back without pickle
            columns["texts"] = np.asarray(prepared.texts, dtype=str)
        np.savez_compressed(tmp / DATA_FILE, X=prepared.X, y=prepared.y, **columns)
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
        try:
            tmp.rename(final)  # atomic; fails if another upload took the name meanwhile
        except OSError:
            raise UploadError(f"A dataset named '{prepared.name}' already exists. Fix: pick "
                              "another name (the existing one is kept as it is).") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def leave_out_problem(prepared: Prepared) -> str | None:
    """Why the columns chosen to stay out of the model can't be, or None."""
    if not prepared.leave_out:
        return None
    known = prepared.schema.names if prepared.schema is not None else []
    unknown = [c for c in prepared.leave_out if c not in known]
    if unknown:
        return (f"Leave out of the model: {', '.join(repr(c) for c in unknown)} is not an "
                f"input column of this table; its input columns: {', '.join(known) or 'none'}")
    if prepared.text_column in prepared.leave_out and prepared.kind == "text":
        return (f"Leave out of the model: '{prepared.text_column}' is read as words, the "
                "text the model learns from; it can't be left out")
    if len(set(prepared.leave_out)) >= len(known):
        return ("Leave out of the model: keep at least one input column, or the model has "
                "nothing to go on")
    return None


def delete(name: str, actor: Actor, home=None) -> None:
    """`actor` deletes an uploaded dataset (runs trained on it keep their results). Raises
    Refused, changing nothing, when it is not theirs to delete (see permissions)."""
    folder = data_root(home) / name if NAME_PATTERN.match(name or "") else None
    manifest = _manifest(folder) if folder is not None else None
    if manifest is None:
        raise Refused(f"There is no uploaded dataset called {name!r} (it may have been "
                      "deleted meanwhile); reload the page.")
    check(actor, "delete_upload", {"name": name, "workspace": manifest.get("workspace"),
                                   "owner": manifest.get("owner")})
    # Renamed away first (atomic), so no process ever loads half a deleted folder.
    gone = folder.with_name(f".deleted-{name}-{os.getpid()}-{time.time_ns()}")
    os.rename(folder, gone)
    shutil.rmtree(gone, ignore_errors=True)


def import_file(path: str | os.PathLike, target: str | None = None, name: str | None = None,
                home=None) -> str:
    """Import a file for the CLI; the same file imported again reuses its dataset."""
    path = Path(path)
    if not path.is_file():
        raise UploadError(f"There is no file {str(path)!r}. Fix: check the path.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{path.name} is {human_bytes(path.stat().st_size, 'MB')}, above the "
                          f"upload limit of {human_bytes(MAX_UPLOAD_BYTES, 'MB')}. Fix: use a "
                          "sample of it.")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    for manifest in manifests(home):
        same_source = manifest["source"]["sha256"] == digest
        if same_source and manifest.get("target") == target and (
                name is None or manifest["name"] == name):
            return manifest["name"]
    prepared = prepare(data, path.name, target, name or suggest_name(path.name, home))
    return save(prepared, home).name


def manifests(home=None) -> list[dict[str, Any]]:
    """Every uploaded dataset's manifest, oldest first."""
    root = data_root(home)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if NAME_PATTERN.match(folder.name) and (m := _manifest(folder)) is not None:
            found.append(m)
    return sorted(found, key=lambda m: m.get("created", 0))


def _manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read_manifest(str(path), mtime)


@lru_cache(maxsize=256)
def _read_manifest(path: str, mtime: int) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("format") == FORMAT_VERSION else None


def _info(manifest: dict[str, Any]) -> DatasetInfo:
    return DatasetInfo(manifest["name"], manifest["title"], manifest["kind"],
                       manifest["description"],
                       sensitive_columns=tuple(manifest.get("group_columns", ())),
                       default_sensitive=manifest.get("sensitive", ""))


def sensitive_problem(manifest: dict[str, Any], column: str) -> str:
    """Why `column` can't be this upload's sensitive attribute, in a sentence with the fix."""
    usable = manifest.get("group_columns", [])
    known = ", ".join(f"'{c}'" for c in usable) or "none (upload a column of a few groups)"
    if column == manifest.get("target"):
        why = f"'{column}' is the column to predict"
    elif column in manifest.get("not_groups", {}):
        why = f"'{column}' {manifest['not_groups'][column]}"
    else:
        why = f"{manifest['name']} has no column '{column}'"
    return f"sensitive: {why}; columns that can name groups: {known}"


def columns_beside_text(name: str, leave_out: list[str], home=None) -> list[str]:
    """An upload read as words: the columns a run keeps beside its text (empty for text
    alone, for a table and for built-in sets). Reads the description, not the data."""
    manifest = manifest_of(name, home)
    if manifest is None or manifest["kind"] != "text":
        return []
    return [c["name"] for c in manifest.get("columns") or ()
            if c["kind"] != "text" and c["name"] not in leave_out]


def manifest_of(name: str, home=None) -> dict[str, Any] | None:
    """An uploaded dataset's manifest, or None."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return None
    return _manifest(data_root(home) / name)


def find(name: str, home=None) -> tuple[DatasetInfo, Any] | None:
    """(info, loader) of an uploaded dataset, the shape of a registry entry, or None."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return None  # also keeps names like '../x' from reaching the file system
    folder = data_root(home) / name
    manifest = _manifest(folder)
    if manifest is None:
        return None
    return _info(manifest), lambda seed, noise: load(name, seed, home)


def all_infos(home=None) -> list[DatasetInfo]:
    return [_info(m) for m in manifests(home)]


def load(name: str, seed: int = 0, home=None) -> Dataset:
    """The uploaded dataset's seeded 60/20/20 splits (cached by content, not by name)."""
    folder = data_root(home) / name
    manifest = _manifest(folder) if NAME_PATTERN.match(name) else None
    if manifest is None:
        raise KeyError(f"unknown dataset {name!r}: no uploaded dataset of that name")
    return _load(str(folder), manifest["source"]["sha256"], manifest["created"], seed,
                 manifest.get("sensitive", ""))


@lru_cache(maxsize=8)
def _load(folder: str, digest: str, created: float, seed: int, sensitive: str = "") -> Dataset:
    manifest = _read_manifest(str(Path(folder) / MANIFEST_FILE),
                              (Path(folder) / MANIFEST_FILE).stat().st_mtime_ns)
    with np.load(Path(folder) / DATA_FILE, allow_pickle=False) as arrays:
        X, y = arrays["X"], arrays["y"]
        groups = {c: arrays[f"group_{i}"]
                  for i, c in enumerate(manifest.get("group_columns", []))}
        texts = arrays["texts"] if manifest["kind"] == "text" else None
    info = _info(manifest)
    if manifest["kind"] == "image":
        # A fixed division keeps pixels in 0..1 without looking at any split (as digits).
        X = X.astype(np.float32) / 255.0
        X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, y, seed)
        return Dataset(info, X_tr, y_tr, X_val, y_val, X_te, y_te,
                       list(manifest["class_names"]), list(manifest["feature_names"]),
                       image_shape=tuple(manifest["image_shape"]))
    # Uploads saved before columns were recorded get a best guess from the input names.
    schema = (Schema.from_json(manifest["columns"]) if manifest.get("columns")
              else schema_from_feature_names(manifest["feature_names"]))
    if texts is not None:
        return words_dataset(info, texts, X, y, seed, list(manifest["class_names"]),
                             list(manifest["feature_names"]), schema, groups)
    data = _standardized(info, X.astype(np.float64), y, seed, list(manifest["class_names"]),
                         list(manifest["feature_names"]), schema)
    data.group_columns = split_columns(groups, y, seed)
    return data
