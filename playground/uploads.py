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

import csv
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from playground.datasets import Dataset, DatasetInfo, _split, _standardized

# -- limits (small on purpose: runs must finish in seconds on a laptop CPU) ------------------
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 200
MAX_FEATURES = 500  # after categories are spread over 0/1 columns
MAX_CLASSES = 20
MIN_PER_CLASS = 10  # so training, validation and test each get a few of every class
MAX_IMAGES = 5_000
MAX_ZIP_MEMBERS = 10_000
MAX_IMAGE_PIXELS = 4096 * 4096  # per picture, checked before it is decoded
MAX_MEMBER_BYTES = 20 * 1024 * 1024  # one file inside the ZIP, once expanded
MAX_EXPANDED_BYTES = 200 * 1024 * 1024  # the whole ZIP, once expanded
MAX_EXPANSION = 100  # expanded size / ZIP size above this (and above 10 MB) is a ZIP bomb
ONE_HOT_MAX = 10  # categories up to this many become 0/1 columns; more become codes
ORDINAL_MAX = 50  # above this many distinct values a text column is dropped (an id or free text)
IMAGE_SIDE = 16  # pictures are resized to 16 x 16 pixels

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
# Pillow decoders allowed: plain raster formats only (never EPS, which runs Ghostscript).
PIL_FORMATS = ["PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"]
TABLE_EXTENSIONS = {".csv", ".tsv", ".txt"}
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
TARGET_GUESSES = ("target", "label", "labels", "class", "y", "outcome", "species",
                  "diagnosis", "category")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DATA_FILE = "dataset.npz"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1

ACCEPTED = ("a CSV table (.csv) with one row per example, or a ZIP of pictures with one "
            "folder per class")


class UploadError(ValueError):
    """An upload the playground refuses; `problems` are sentences naming problem and fix."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))


@dataclass
class Prepared:
    """An upload read and checked, not yet saved."""

    name: str
    kind: str  # "tabular" or "image"
    X: np.ndarray  # float32 with NaN for missing values (tables) or uint8 (N, C, H, W)
    y: np.ndarray  # int64 class indices
    class_names: list[str]
    feature_names: list[str]
    source: dict[str, Any]  # file name, size, sha256
    notes: list[str] = field(default_factory=list)  # what was done to the data, in words
    target: str | None = None
    image_shape: tuple[int, int, int] | None = None
    preview: Any = None  # a pandas DataFrame of the first rows (tables)

    @property
    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.y, minlength=len(self.class_names))
        return {c: int(n) for c, n in zip(self.class_names, counts, strict=True)}

    @property
    def warnings(self) -> list[str]:
        """Things to watch before training (the upload itself is fine)."""
        counts = self.class_counts
        small, large = min(counts, key=counts.get), max(counts, key=counts.get)
        if counts[small] < 0.5 * counts[large]:
            return [f"The classes are unbalanced: '{large}' has {counts[large]:,} examples, "
                    f"'{small}' only {counts[small]:,}. Accuracy can look good while the rare "
                    "class is missed: watch macro F1 and the confusion matrix."]
        return []

    @property
    def title(self) -> str:
        what = "pictures" if self.kind == "image" else "rows"
        return f"{self.name} (your data, {len(self.y):,} {what})"

    @property
    def description(self) -> str:
        if self.kind == "image":
            c, h, w = self.image_shape
            return (f"Uploaded from {self.source['file']}: {len(self.y):,} pictures in "
                    f"{len(self.class_names)} classes, resized to {w}×{h} "
                    f"{'colour' if c == 3 else 'greyscale'}.")
        return (f"Uploaded from {self.source['file']}: {len(self.y):,} rows, "
                f"{len(self.feature_names)} input columns, predicting '{self.target}' "
                f"({len(self.class_names)} classes).")


# -- names and folders -------------------------------------------------------------------------
def data_root(home: str | os.PathLike | None = None) -> Path:
    from playground.store import default_home

    return (Path(home).resolve() if home else default_home()) / "data"


def name_problem(name: str) -> str | None:
    """Why `name` can't name a dataset, or None."""
    from playground.datasets import DATASETS

    if not NAME_PATTERN.match(name or ""):
        return (f"The name {name!r} can't be used: use 1 to 40 lowercase letters, digits or "
                "underscores, starting with a letter (for example 'my_customers').")
    if name in DATASETS:
        return f"The name {name!r} belongs to a built-in dataset: pick another name."
    return None


def suggest_name(filename: str, home=None) -> str:
    """A free dataset name made from the file name, e.g. 'Churn 2024.csv' -> 'churn_2024'."""
    from playground.datasets import DATASETS

    stem = re.sub(r"[^a-z0-9]+", "_", Path(filename).stem.lower()).strip("_")[:32] or "data"
    if not stem[0].isalpha():
        stem = "data_" + stem
    name, n = stem, 2
    while name in DATASETS or (data_root(home) / name).exists():
        name, n = f"{stem}_{n}", n + 1
    return name


# -- entry point -------------------------------------------------------------------------------
def prepare(data: bytes, filename: str, target: str | None = None,
            name: str | None = None) -> Prepared:
    """Read and check an upload. Raises UploadError naming each problem and its fix."""
    name = name or suggest_name(filename)
    if problem := name_problem(name):
        raise UploadError(problem)
    kind = file_kind(data, filename)
    source = {"file": Path(filename).name, "bytes": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    if kind == "zip":
        return _prepare_zip(data, filename, name, source)
    return _prepare_csv(data, filename, target, name, source)


def file_kind(data: bytes, filename: str) -> str:
    """'csv' or 'zip'; refuses files above the limit, empty ones and other formats."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{filename} is {_mb(len(data))}, above the upload limit of "
            f"{_mb(MAX_UPLOAD_BYTES)}. Fix: upload a sample of it (fewer rows or pictures).")
    if not data:
        raise UploadError(f"{filename} is empty. Fix: upload {ACCEPTED}.")
    return _sniff(data, filename)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


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


# -- CSV ---------------------------------------------------------------------------------------
def _decode(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        # Spreadsheets on Windows often save Latin-1 / cp1252; every byte decodes.
        return data.decode("cp1252", errors="replace"), (
            "The file is not UTF-8; it was read as Windows (cp1252) text. If accents look "
            "wrong, save it as 'CSV UTF-8'.")


def read_table(data: bytes, filename: str):
    """The CSV as a DataFrame of strings (missing cells as NaN), plus notes. Raises
    UploadError for text that is not a table."""
    import pandas as pd

    text, note = _decode(data)
    sample = text[:65536]
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, nrows=MAX_ROWS + 1,
                            skipinitialspace=True, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise UploadError(f"{filename} has no rows. Fix: upload a table with a header row "
                          "and at least one row per example.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise UploadError(
            f"{filename} is not a well-formed CSV table ({detail}). Fix: every row needs "
            "the same number of cells as the header; export the sheet as CSV again.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) > MAX_ROWS:
        raise UploadError(
            f"{filename} has more than {MAX_ROWS:,} rows. Fix: upload a sample of at most "
            f"{MAX_ROWS:,} rows (runs here must train in seconds).")
    if frame.shape[1] > MAX_COLUMNS:
        raise UploadError(
            f"{filename} has {frame.shape[1]} columns, more than the {MAX_COLUMNS} allowed. "
            "Fix: keep only the columns that matter for the prediction.")
    if frame.shape[1] < 2:
        raise UploadError(
            f"{filename} has only one column (found {list(frame.columns)[:1]}). Fix: a table "
            "needs input columns and a target column; check that it is comma-separated.")
    if len(frame) == 0:
        raise UploadError(f"{filename} has a header but no rows. Fix: add the examples.")
    return frame, [note] if note else []


def guess_target(columns: list[str]) -> str:
    """The column most likely meant as the target: a usual name, else the last column."""
    lower = {c.lower(): c for c in columns}
    for guess in TARGET_GUESSES:
        if guess in lower:
            return lower[guess]
    return columns[-1]


def _prepare_csv(data, filename, target, name, source) -> Prepared:
    frame, notes = read_table(data, filename)
    columns = list(frame.columns)
    if not target:
        raise UploadError(
            f"No target column chosen. Fix: choose the column the model should predict "
            f"(columns: {_listing(columns)}).")
    if target not in columns:
        close = difflib.get_close_matches(target, columns, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UploadError(
            f"{filename} has no column named '{target}'.{hint} Fix: choose one of "
            f"{_listing(columns)} (names are case-sensitive).")
    labels = frame[target].str.strip()
    keep = labels.notna() & (labels != "")
    if not keep.all():
        dropped = int((~keep).sum())
        notes.append(f"{dropped} {'row' if dropped == 1 else 'rows'} without a value in "
                     f"'{target}' {'was' if dropped == 1 else 'were'} left out.")
        frame, labels = frame[keep].reset_index(drop=True), labels[keep].reset_index(drop=True)
    class_names, y = _classes(labels, target, filename)
    X, feature_names, column_notes = _encode_features(frame.drop(columns=[target]), filename)
    notes.extend(column_notes)
    preview = frame.head(20)
    return Prepared(name, "tabular", X, y, class_names, feature_names, source, notes,
                    target=target, preview=preview)


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _classes(labels, target: str, filename: str) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    values = labels.unique().tolist()
    if len(values) < 2:
        raise UploadError(
            f"'{target}' has a single value ({values[0]!r}) in every row: there is nothing to "
            "tell apart. Fix: choose a target column with at least two different values.")
    if len(values) > MAX_CLASSES:
        numeric = pd.to_numeric(labels, errors="coerce").notna().mean() > 0.95
        why = (" It looks like a number to predict (a regression), which the playground "
               "does not do." if numeric else "")
        raise UploadError(
            f"'{target}' has {len(values)} different values, more than the {MAX_CLASSES} "
            f"classes allowed.{why} Fix: choose a column with a few categories, or group the "
            "values into at most 20 classes first.")
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all():  # 0, 1, 2 sort as numbers, not as text
        order = [v for _, v in sorted(zip(numbers, values, strict=True))]
    else:
        order = sorted(values, key=str.lower)
    index = {v: i for i, v in enumerate(order)}
    y = labels.map(index).to_numpy(dtype=np.int64)
    counts = np.bincount(y, minlength=len(order))
    rare = [f"'{order[i]}' ({int(n)})" for i, n in enumerate(counts) if n < MIN_PER_CLASS]
    if rare:
        raise UploadError(
            f"Some classes of '{target}' have fewer than {MIN_PER_CLASS} rows: "
            f"{', '.join(rare[:8])}. Fix: add more examples of them, or remove those rows, so "
            "training, validation and test each get some of every class.")
    return [str(v) for v in order], y


def _encode_features(frame, filename: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Numbers stay numbers (missing ones left as NaN: they are filled with the training
    split's median at load time); text columns become 0/1 columns or codes."""
    import pandas as pd

    blocks: list[np.ndarray] = []
    names: list[str] = []
    notes: list[str] = []
    one_hot, ordinal, dropped, filled = [], [], [], []
    n = len(frame)
    for col in frame.columns:
        raw = frame[col].str.strip().replace("", np.nan)
        present = raw.notna()
        if not present.any():
            dropped.append(f"'{col}' (empty)")
            continue
        numbers = pd.to_numeric(raw, errors="coerce")
        not_numbers = present & numbers.isna()
        if not_numbers.sum() <= 0.05 * present.sum() and numbers.notna().any():
            if not_numbers.any():
                odd = sorted(set(raw[not_numbers]))[:3]
                notes.append(f"'{col}': {int(not_numbers.sum())} values that are not numbers "
                             f"({', '.join(repr(v) for v in odd)}) are treated as missing.")
            values = numbers.to_numpy(dtype=np.float64)
            if np.nanstd(values) == 0:
                dropped.append(f"'{col}' (the same value in every row)")
                continue
            missing = int(np.isnan(values).sum())
            if missing:
                filled.append(f"'{col}' ({missing})")
            blocks.append(values[:, None])
            names.append(col)
            continue
        # Text: categories. Missing cells become a category of their own.
        text = raw.fillna("(missing)")
        cats = sorted(text.unique().tolist(), key=str.lower)
        if len(cats) == 1:
            dropped.append(f"'{col}' (the same value in every row)")
        elif len(cats) > ORDINAL_MAX or len(cats) > 0.5 * n:
            dropped.append(f"'{col}' ({len(cats)} different texts: an id or free text)")
        elif len(cats) == 2:
            blocks.append((text == cats[1]).to_numpy(dtype=np.float64)[:, None])
            names.append(f"{col} = {cats[1]}")
            one_hot.append(f"'{col}' (1 column: {cats[1]} or not)")
        elif len(cats) <= ONE_HOT_MAX:
            blocks.append(np.stack([(text == c).to_numpy(dtype=np.float64) for c in cats], 1))
            names.extend(f"{col} = {c}" for c in cats)
            one_hot.append(f"'{col}' ({len(cats)} columns)")
        else:
            codes = {c: i for i, c in enumerate(cats)}
            blocks.append(text.map(codes).to_numpy(dtype=np.float64)[:, None])
            names.append(col)
            ordinal.append(f"'{col}' ({len(cats)} categories)")
    if one_hot:
        notes.append("Categories turned into 0/1 columns (one-hot): " + ", ".join(one_hot) + ".")
    if ordinal:
        notes.append("Categories with many values numbered in alphabetical order (ordinal "
                     "codes; the order means nothing to the model's eyes, so treat results "
                     "on these columns with care): " + ", ".join(ordinal) + ".")
    if filled:
        notes.append("Missing numbers are filled with the median of the training rows: "
                     + ", ".join(filled) + ".")
    if dropped:
        notes.append("Columns left out: " + ", ".join(dropped) + ".")
    if not blocks:
        raise UploadError(
            f"{filename} has no usable input columns besides the target. Fix: include "
            "columns of numbers or short categories that describe each example.")
    X = np.concatenate(blocks, axis=1).astype(np.float32)
    if X.shape[1] > MAX_FEATURES:
        raise UploadError(
            f"{filename} becomes {X.shape[1]} input columns once categories are spread out, "
            f"more than the {MAX_FEATURES} allowed. Fix: drop some columns.")
    return X, names, notes


# -- ZIP of pictures ---------------------------------------------------------------------------
def _unsafe_member(info: zipfile.ZipInfo) -> bool:
    """Names that would point outside a folder if extracted, and links."""
    name = info.filename
    parts = re.split(r"[\\/]+", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    if any(p == ".." for p in parts):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_junk(parts: list[str]) -> bool:
    return any(p == "__MACOSX" for p in parts) or parts[-1].lower() in JUNK_NAMES or \
        parts[-1].startswith("._")


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Stream one member, stopping as soon as it is bigger than declared or than the caps,
    so a forged header can't make us expand gigabytes."""
    cap = min(info.file_size, MAX_MEMBER_BYTES, budget)
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 16):
            out += chunk
            if len(out) > cap:
                raise UploadError(
                    f"'{info.filename}' expands beyond its declared size or the limits "
                    f"({_mb(MAX_MEMBER_BYTES)} per file, {_mb(MAX_EXPANDED_BYTES)} in all): "
                    "the ZIP looks like a ZIP bomb. Fix: zip the picture folders again "
                    "with an ordinary tool.")
    return bytes(out)


def _prepare_zip(data: bytes, filename: str, name: str, source: dict) -> Prepared:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError(f"{filename} is not a readable ZIP archive ({exc}). Fix: zip the "
                          "folder of class folders again and upload it.") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UploadError(f"{filename} holds {len(infos):,} files, more than "
                          f"{MAX_ZIP_MEMBERS:,}. Fix: upload at most {MAX_IMAGES:,} pictures.")
    unsafe = [i.filename for i in infos if _unsafe_member(i)]
    if unsafe:
        raise UploadError(
            f"{filename} contains paths that point outside its own folder or links "
            f"({_listing(unsafe, 3)}). Nothing was extracted. Fix: zip the class folders "
            "themselves, with plain relative names like cats/001.png.")
    if any(i.flag_bits & 0x1 for i in infos):
        raise UploadError(f"{filename} is password-protected. Fix: zip the folders again "
                          "without a password.")
    files = [i for i in infos if not i.is_dir()]
    declared = sum(i.file_size for i in files)
    big = [i.filename for i in files if i.file_size > MAX_MEMBER_BYTES]
    if big or declared > MAX_EXPANDED_BYTES or (
            declared > 10 * 1024 * 1024 and declared > MAX_EXPANSION * len(data)):
        raise UploadError(
            f"{filename} would expand from {_mb(len(data))} to {_mb(declared)}"
            + (f" ({_listing(big, 3)} alone above {_mb(MAX_MEMBER_BYTES)})" if big else "")
            + f": far beyond its size or the limit of {_mb(MAX_EXPANDED_BYTES)}, the mark of a "
            "ZIP bomb. It was not expanded. Fix: upload an ordinary ZIP of small pictures.")

    pictures, junk, other = [], 0, []
    for info in files:
        parts = [p for p in re.split(r"[\\/]+", info.filename) if p]
        if _is_junk(parts):
            junk += 1
        elif Path(parts[-1]).suffix.lower() in IMAGE_EXTENSIONS:
            pictures.append((parts, info))
        else:
            other.append(info.filename)
    if other:
        raise UploadError(
            f"{filename} contains files that are not pictures: {_listing(other, 5)}. Fix: "
            f"keep only pictures ({', '.join(sorted(IMAGE_EXTENSIONS))}) in the class "
            "folders and zip them again.")
    if not pictures:
        raise UploadError(f"{filename} contains no pictures. Fix: zip one folder per class, "
                          "each holding that class's pictures (e.g. cats/…, dogs/…).")
    if len(pictures) > MAX_IMAGES:
        raise UploadError(f"{filename} holds {len(pictures):,} pictures, more than "
                          f"{MAX_IMAGES:,}. Fix: upload a sample of at most {MAX_IMAGES:,}.")
    # A ZIP of a folder wraps everything in that folder: strip shared top folders.
    while all(len(p) >= 3 for p, _ in pictures) and len({p[0] for p, _ in pictures}) == 1:
        pictures = [(p[1:], i) for p, i in pictures]
    loose = [i.filename for p, i in pictures if len(p) != 2]
    if loose:
        raise UploadError(
            f"{filename} must hold one folder per class with the pictures directly inside; "
            f"these are not: {_listing(loose, 3)}. Fix: arrange it as class_name/picture.png "
            "(one level of folders) and zip again.")

    images, labels, unreadable, colour = [], [], [], False
    budget = MAX_EXPANDED_BYTES
    for parts, info in sorted(pictures, key=lambda pi: pi[1].filename):
        try:
            raw = _read_capped(zf, info, budget)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise UploadError(f"'{info.filename}' in {filename} is damaged ({exc}). Fix: zip "
                              "the folders again.") from None
        budget -= len(raw)
        picture, problem = _decode_picture(raw, info.filename)
        if problem:
            unreadable.append(problem)
            continue
        colour = colour or _has_colour(picture)
        images.append(picture)
        labels.append(parts[0])
    if unreadable:
        raise UploadError(
            f"{len(unreadable)} picture(s) in {filename} can't be used: "
            f"{'; '.join(unreadable[:4])}{' …' if len(unreadable) > 4 else ''}. Fix: remove or "
            "replace them (re-save them as PNG or JPEG) and zip again.")
    class_names = sorted(set(labels), key=str.lower)
    if len(class_names) < 2:
        raise UploadError(
            f"{filename} has a single class folder ('{class_names[0]}'): there is nothing to "
            "tell apart. Fix: add at least one more folder of pictures of another class.")
    if len(class_names) > MAX_CLASSES:
        raise UploadError(f"{filename} has {len(class_names)} class folders, more than the "
                          f"{MAX_CLASSES} allowed. Fix: merge or remove some classes.")
    index = {c: i for i, c in enumerate(class_names)}
    y = np.array([index[c] for c in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(class_names))
    rare = [f"'{class_names[i]}' ({int(n)})" for i, n in enumerate(counts) if n < MIN_PER_CLASS]
    if rare:
        raise UploadError(
            f"Some class folders have fewer than {MIN_PER_CLASS} pictures: {', '.join(rare)}. "
            "Fix: add pictures to them, so training, validation and test each get some.")
    channels = 3 if colour else 1
    X = np.stack([_to_array(im, channels) for im in images])
    notes = [f"Pictures resized to {IMAGE_SIDE}×{IMAGE_SIDE} pixels (stretched to a square) "
             "so a run trains in seconds on a laptop CPU, like the 8×8 digits."]
    notes.append("Kept in colour (3 channels), because some pictures have colour."
                 if colour else "Kept in greyscale (1 channel): no picture has colour, and one "
                 "channel is a third of the work.")
    if junk:
        notes.append(f"{junk} system file(s) (__MACOSX, .DS_Store, Thumbs.db) were ignored.")
    return Prepared(name, "image", X, y, class_names,
                    [f"pixel ({r},{c})" for r in range(IMAGE_SIDE) for c in range(IMAGE_SIDE)],
                    source, notes, image_shape=(channels, IMAGE_SIDE, IMAGE_SIDE))


def _decode_picture(raw: bytes, member: str):
    """(a small RGB PIL image, None) or (None, why it can't be used)."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw), formats=PIL_FORMATS)
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                return None, (f"'{member}' is {w}×{h} pixels, more than "
                              f"{MAX_IMAGE_PIXELS:,} pixels per picture")
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img.convert("RGBA"))
            img = img.convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE),
                                            Image.Resampling.LANCZOS, reducing_gap=3.0)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, f"'{member}' has too many pixels"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return None, f"'{member}' is not a readable picture ({type(exc).__name__})"
    return img, None


def _has_colour(img) -> bool:
    a = np.asarray(img, dtype=np.int16)
    return bool((np.abs(a - a.mean(axis=2, keepdims=True)).max(axis=2) > 8).mean() > 0.01)


def _to_array(img, channels: int) -> np.ndarray:
    if channels == 1:
        return np.asarray(img.convert("L"), dtype=np.uint8)[None]
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


# -- saving and finding ------------------------------------------------------------------------
def save(prepared: Prepared, home=None) -> Path:
    """Write the dataset folder atomically; refuse a name already in use (nothing is
    overwritten: runs trained on the old data would silently change meaning)."""
    if problem := name_problem(prepared.name):
        raise UploadError(problem)
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
    }
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        np.savez_compressed(tmp / DATA_FILE, X=prepared.X, y=prepared.y)
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


def import_file(path: str | os.PathLike, target: str | None = None, name: str | None = None,
                home=None) -> str:
    """Import a file for the CLI; the same file imported again reuses its dataset."""
    path = Path(path)
    if not path.is_file():
        raise UploadError(f"There is no file {str(path)!r}. Fix: check the path.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{path.name} is {_mb(path.stat().st_size)}, above the upload limit "
                          f"of {_mb(MAX_UPLOAD_BYTES)}. Fix: use a sample of it.")
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
                       manifest["description"])


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
    return _load(str(folder), manifest["source"]["sha256"], manifest["created"], seed)


@lru_cache(maxsize=8)
def _load(folder: str, digest: str, created: float, seed: int) -> Dataset:
    manifest = _read_manifest(str(Path(folder) / MANIFEST_FILE),
                              (Path(folder) / MANIFEST_FILE).stat().st_mtime_ns)
    with np.load(Path(folder) / DATA_FILE, allow_pickle=False) as arrays:
        X, y = arrays["X"], arrays["y"]
    info = _info(manifest)
    if manifest["kind"] == "image":
        # A fixed division keeps pixels in 0..1 without looking at any split (as digits).
        X = X.astype(np.float32) / 255.0
        X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, y, seed)
        return Dataset(info, X_tr, y_tr, X_val, y_val, X_te, y_te,
                       list(manifest["class_names"]), list(manifest["feature_names"]),
                       image_shape=tuple(manifest["image_shape"]))
    return _standardized(info, X.astype(np.float64), y, seed, list(manifest["class_names"]),
                         list(manifest["feature_names"]))
