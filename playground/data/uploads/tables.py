"""Uploaded tables (CSV): read, pick the column to predict, encode the features."""
from __future__ import annotations

import csv
import difflib
import io
from dataclasses import replace

import numpy as np

from playground.data.columns import Column, Schema
from playground.data.uploads.limits import (
    FREE_TEXT_LENGTH,
    MAX_CLASSES,
    MAX_COLUMNS,
    MAX_FEATURES,
    MAX_GROUPS,
    MAX_ROWS,
    MIN_PER_CLASS,
    ONE_HOT_MAX,
    ORDINAL_MAX,
    TARGET_GUESSES,
    Prepared,
    UploadError,
    _listing,
    check_time,
)


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


def _prepare_csv(data, filename, target, name, source,
                 deadline: float | None = None) -> Prepared:
    frame, notes = read_table(data, filename)
    check_time(deadline, filename)
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
    inputs = frame.drop(columns=[target])
    free = [c for c in inputs.columns if _free_text_column(inputs[c])]
    X, feature_names, column_notes, schema = _encode_features(inputs, filename, deadline,
                                                              text_ok=bool(free))
    notes.extend(column_notes)
    preview = frame.head(20)
    groups, not_groups = group_columns(inputs)
    prepared = Prepared(name, "tabular", X, y, class_names, feature_names, source, notes,
                        target=target, preview=preview, groups=groups, not_groups=not_groups,
                        schema=schema)
    if not free:
        return prepared
    if len(free) > 1:
        notes.append(f"Only one column is read as words, '{free[0]}'; other free text left "
                     f"out of the model: {_listing(free[1:])}.")
    texts = inputs[free[0]].fillna("").str.strip().to_numpy(dtype=str)
    prepared = replace(prepared, text_column=free[0], texts=texts)
    # Text alone is a text dataset; beside other columns, reading it is the person's choice
    # (the table's own models can't read words).
    return read_words(prepared, X.shape[1] == 0)


def _free_text_column(column) -> bool:
    raw = column.str.strip().replace("", np.nan)
    return bool(raw.notna().any()) and is_free_text(raw)


WORDS_NOTE = "is read as words"
LEFT_OUT_NOTE = "Free text left out of the model"


def read_words(prepared: Prepared, words: bool = True) -> Prepared:
    """The upload with its free-text column read as words (a text dataset: a tokenizer
    learnt from each run's training rows; word-count models also take the other columns),
    or left out of the model (a table). Unchanged when it has no free-text column."""
    if not prepared.text_column:
        return prepared
    name = prepared.text_column
    others = Schema(tuple(c for c in prepared.schema or () if c.kind != "text"))
    notes = [n for n in prepared.notes if WORDS_NOTE not in n and LEFT_OUT_NOTE not in n]
    if words:
        beside = (" Word-count models learn from it beside the other columns; the tiny "
                  "BERT reads the text alone, so leave the other columns out to use it."
                  if len(others) else "")
        notes.append(f"'{name}' {WORDS_NOTE} (free text): a tokenizer learnt from the "
                     f"training rows splits each sentence into word pieces.{beside}")
        schema = Schema((Column(name, "text", ()), *others))
        return replace(prepared, kind="text", schema=schema, notes=notes,
                       leave_out=tuple(c for c in prepared.leave_out if c != name))
    if not len(others):
        raise UploadError(f"'{name}' is the only input column, so it has to be read as "
                          "words. Fix: keep it as text, or add columns of numbers or "
                          "categories.")
    notes.append(f"{LEFT_OUT_NOTE}: '{name}' (sentences rather than categories; numbering "
                 "them would only add noise). Read it as words to use it: word-count models "
                 "then learn from it beside the other columns.")
    return replace(prepared, kind="tabular", schema=others, notes=notes)


def group_columns(frame) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The columns that can say which group each row belongs to (a sensitive attribute such
    as sex or an age band), as words, and why each other column can't. A number column with
    many values is refused rather than cut into bands: where to cut (ages 18-29? 18-40?)
    changes what the audit finds, so that choice stays with the person who knows the data."""
    groups: dict[str, np.ndarray] = {}
    refused: dict[str, str] = {}
    for col in frame.columns:
        words = frame[col].str.strip().replace("", np.nan).fillna("(missing)")
        count = words.nunique()
        if count < 2:
            refused[col] = "has the same value in every row, so there are no groups to compare"
        elif count > MAX_GROUPS:
            refused[col] = (f"has {count} different values, more than the {MAX_GROUPS} groups "
                            "allowed; add a column of bands (e.g. age 18-29, 30-49, 50+) to "
                            "the table and pick that")
        else:
            groups[col] = words.to_numpy(dtype=str)
    return groups, refused


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


def _decimals(raw) -> tuple[int, bool]:
    """How many decimals a number column was written with (at most 4), and whether every
    value is a whole number: values shown back to the person are written the same way."""
    written = raw.dropna().astype(str)
    after = written.str.extract(r"\.(\d+)$")[0].str.len().fillna(0)
    places = int(min(4, after.max())) if len(after) else 0
    return places, places == 0


def is_free_text(text) -> bool:
    """Whether a text column holds sentences (a note, a comment) rather than categories:
    most values have several words and are long, or nearly every row says something of its
    own. Numbering such values would hand the model arbitrary codes for what are words."""
    values = text.dropna().astype(str)
    if values.empty:
        return False
    words = values.str.split().str.len()
    spaced = float((words >= 3).mean())
    unique = values.nunique() / len(values)
    return (spaced >= 0.5 and values.str.len().median() >= FREE_TEXT_LENGTH) or (
        spaced >= 0.5 and unique >= 0.5)


def _encode_features(frame, filename: str, deadline: float | None = None,
                     text_ok: bool = False) -> tuple[np.ndarray, list[str], list[str], Schema]:
    """Numbers stay numbers (missing ones left as NaN: they are filled with the training
    split's median at load time); text columns become 0/1 columns or codes, and free text
    is skipped (`read_words` decides about it). Also returns the columns as the person knows
    them (`Schema`), for showing rows in their units. `text_ok`: a free-text column stands
    for the inputs, so no other usable column is no error."""
    import pandas as pd

    blocks: list[np.ndarray] = []
    names: list[str] = []
    columns: list[Column] = []
    notes: list[str] = []
    one_hot, ordinal, dropped, filled = [], [], [], []
    n = len(frame)
    for col in frame.columns:
        check_time(deadline, filename)
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
            places, whole = _decimals(raw[numbers.notna()])
            columns.append(Column(col, "number", (len(names),), decimals=places,
                                  integer=whole))
            blocks.append(values[:, None])
            names.append(col)
            continue
        if is_free_text(raw):
            continue
        # Text: categories. Missing cells become a category of their own.
        text = raw.fillna("(missing)")
        cats = sorted(text.unique().tolist(), key=str.lower)
        if len(cats) == 1:
            dropped.append(f"'{col}' (the same value in every row)")
        elif len(cats) > ORDINAL_MAX or len(cats) > 0.5 * n:
            dropped.append(f"'{col}' ({len(cats)} different texts: an id or free text)")
        elif len(cats) == 2:
            columns.append(Column(col, "binary", (len(names),), tuple(cats)))
            blocks.append((text == cats[1]).to_numpy(dtype=np.float64)[:, None])
            names.append(f"{col} = {cats[1]}")
            one_hot.append(f"'{col}' (1 column: {cats[1]} or not)")
        elif len(cats) <= ONE_HOT_MAX:
            columns.append(Column(col, "one_hot", tuple(range(len(names), len(names)
                                                                + len(cats))), tuple(cats)))
            blocks.append(np.stack([(text == c).to_numpy(dtype=np.float64) for c in cats], 1))
            names.extend(f"{col} = {c}" for c in cats)
            one_hot.append(f"'{col}' ({len(cats)} columns)")
        else:
            codes = {c: i for i, c in enumerate(cats)}
            columns.append(Column(col, "codes", (len(names),), tuple(cats)))
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
    if not blocks and text_ok:
        return np.zeros((n, 0), np.float32), names, notes, Schema(tuple(columns))
    if not blocks:
        raise UploadError(
            f"{filename} has no usable input columns besides the target. Fix: include "
            "columns of numbers or short categories that describe each example.")
    X = np.concatenate(blocks, axis=1).astype(np.float32)
    if X.shape[1] > MAX_FEATURES:
        raise UploadError(
            f"{filename} becomes {X.shape[1]} input columns once categories are spread out, "
            f"more than the {MAX_FEATURES} allowed. Fix: drop some columns.")
    return X, names, notes, Schema(tuple(columns))
