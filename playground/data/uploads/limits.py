"""What an upload may be: limits, accepted formats, and the errors that say why not."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.data.columns import Schema

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
MAX_GROUPS = 10  # a sensitive column may split the rows into at most this many groups
ORDINAL_MAX = 50  # above this many distinct values a text column is dropped (an id or free text)
FREE_TEXT_LENGTH = 25  # median characters above which a many-word text column is free text
IMAGE_SIDE = 16  # pictures are resized to 16 x 16 pixels
# How long a worker may spend checking one upload; checked between pictures and columns, so
# one step (a picture, bounded by MAX_IMAGE_PIXELS; the CSV parse, by MAX_UPLOAD_BYTES) may
# overrun it a little.
PREPARE_SECONDS = 60.0

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
    kind: str  # "tabular", "text" (a column of free text read as words) or "image"
    # float32 with NaN for missing values (tables; for text, the columns beside the words,
    # maybe none) or uint8 (N, C, H, W)
    X: np.ndarray
    y: np.ndarray  # int64 class indices
    class_names: list[str]
    feature_names: list[str]
    source: dict[str, Any]  # file name, size, sha256
    notes: list[str] = field(default_factory=list)  # what was done to the data, in words
    target: str | None = None
    image_shape: tuple[int, int, int] | None = None
    preview: Any = None  # a pandas DataFrame of the first rows (tables)
    # Columns that can name each row's group for the fairness measurements: name -> the
    # raw values as words (missing as "(missing)"); why the other columns can't; the default.
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    not_groups: dict[str, str] = field(default_factory=dict)
    sensitive: str = ""
    schema: Schema | None = None  # tables: the person's columns behind the model's inputs
    leave_out: tuple[str, ...] = ()  # columns runs on it leave out of the model by default
    # A column of free text (sentences, notes) and its rows: read as words when kind is
    # "text", else left out of the model (the person may choose to read it).
    text_column: str = ""
    texts: np.ndarray | None = None

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
    def columns_used(self) -> int:
        """How many of the person's columns the model learns from (a category spread over
        several 0/1 inputs still counts once)."""
        return len(self.schema) if self.schema is not None else len(self.feature_names)

    @property
    def inputs_note(self) -> str:
        """How the columns became the model's inputs, for a details view."""
        n, inputs = self.columns_used, len(self.feature_names)
        if self.kind == "text":
            others = n - 1
            return (f"'{self.text_column}' is read as words: a tokenizer learnt from the "
                    "training rows turns each sentence into word pieces. "
                    + (f"The {_count(others, 'other column')} became "
                       f"{_count(inputs, 'input')} beside them." if others else
                       "There are no other inputs."))
        return ("Each column is one input of the model." if n == inputs else
                f"The {n} columns became {inputs} inputs of the model: each category of a "
                "column with a few values is its own 0/1 input.")

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
        words = f", the text in '{self.text_column}' read as words" if self.kind == "text" else ""
        return (f"Uploaded from {self.source['file']}: {len(self.y):,} rows, "
                f"{_count(self.columns_used, 'input column')}{words}, predicting '{self.target}' "
                f"({len(self.class_names)} classes).")


def check_time(deadline: float | None, filename: str) -> None:
    """Refuse an upload still being checked past `deadline` (a `time.monotonic()` value)."""
    if deadline is not None and time.monotonic() > deadline:
        raise UploadError(
            f"{filename} took too long to check (more than {PREPARE_SECONDS:.0f} seconds). "
            "Fix: upload fewer or smaller pictures (they are shrunk to "
            f"{IMAGE_SIDE}×{IMAGE_SIDE} pixels anyway), or fewer rows.")


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")
