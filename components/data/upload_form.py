"""The upload form: file, target column, name; then what was found, before anything is saved."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from playground.data import uploads
from playground.results import charts
from playground.teaching.glossary import control_help, glossary_help

PLACEHOLDER_NAME = "upload"  # prepare() checks names; the real one is chosen below


@st.cache_data(show_spinner="Reading the file…", max_entries=4)
def _columns(data: bytes, filename: str) -> list[str]:
    frame, _ = uploads.read_table(data, filename)
    return list(frame.columns)


@st.cache_data(show_spinner="Checking the data…", max_entries=4)
def _prepare(data: bytes, filename: str, target: str | None) -> uploads.Prepared:
    return uploads.prepare(data, filename, target, PLACEHOLDER_NAME)


def _problems(exc: uploads.UploadError) -> None:
    st.error("**This file can't be used yet.**\n\n"
             + "\n".join(f"- {p}" for p in exc.problems))


def upload_form() -> uploads.Prepared | None:
    """Render the form; return the checked upload, or None (problems already shown)."""
    file = st.file_uploader(
        "A CSV table or a ZIP of pictures", key="your_data_file",
        help=glossary_help(
            "CSV: one row per example, one column to predict (the target), the others as "
            f"inputs; up to {uploads.MAX_ROWS:,} rows. ZIP: one folder per class, each "
            f"holding that class's pictures; up to {uploads.MAX_IMAGES:,} pictures. At most "
            f"{uploads.MAX_UPLOAD_BYTES // 2**20} MB. Files are read, never run.", "dataset"))
    if file is None:
        return None
    data, filename = file.getvalue(), file.name
    target = None
    try:
        if uploads.file_kind(data, filename) == "csv":  # wrong formats are refused here
            columns = _columns(data, filename)
            target = st.selectbox(
                "Column to predict (the target)", columns,
                index=columns.index(uploads.guess_target(columns)), key="your_data_target",
                help=control_help("target", "The model learns to predict this column from "
                                            "all the others."))
        prepared = _prepare(data, filename, target)
    except uploads.UploadError as exc:
        _problems(exc)
        return None
    name = st.text_input(
        "Name it", value=uploads.suggest_name(filename), key=f"your_data_name_{filename}",
        max_chars=40, help=control_help(
            "dataset", "Lowercase letters, digits and underscores. The name shows in the "
                       "dataset list on Train and in the CLI (--dataset NAME)."))
    if problem := uploads.name_problem(name):
        st.error(problem)
        return None
    return replace(prepared, name=name, sensitive=_sensitive(prepared))


def _sensitive(prepared: uploads.Prepared) -> str:
    """The column that names each row's group, for the fairness check ("": none)."""
    if prepared.kind != "tabular" or not prepared.groups:
        return ""
    chosen = st.selectbox(
        "Sensitive attribute (optional)", ["", *prepared.groups], key="your_data_sensitive",
        format_func=lambda c: c or "none", help=control_help(
            "sensitive", "Runs on this data then report accuracy, approval rate and error "
            f"rates group by group (fairlearn). A column with at most {uploads.MAX_GROUPS} "
            "different values; each run can still pick another on Train."))
    if prepared.not_groups:
        st.caption("Can't name groups: " + "; ".join(
            f"{c} {why.split(';')[0]}" for c, why in list(prepared.not_groups.items())[:4]) + ".")
    return chosen


def _image_grid(prepared: uploads.Prepared, per_class: int = 6) -> None:
    for i, cls in enumerate(prepared.class_names[:8]):
        idx = np.flatnonzero(prepared.y == i)[:per_class]
        pictures = [np.kron(p.transpose(1, 2, 0) if p.shape[0] == 3 else p[0],
                            np.ones((6, 6, 1) if p.shape[0] == 3 else (6, 6))).astype(np.uint8)
                    for p in prepared.X[idx]]
        st.image(pictures, caption=[cls] * len(pictures), width=72,
                 alt=[f"an uploaded picture of class {cls}"] * len(pictures))


def upload_preview(prepared: uploads.Prepared) -> None:
    """What was found: size, preview, class balance, how columns were handled, warnings."""
    unit = "pictures" if prepared.kind == "image" else "rows"
    st.markdown(f"**{len(prepared.y):,}** {unit} · **{len(prepared.class_names)}** classes · "
                + (f"**{len(prepared.feature_names)}** input columns"
                   if prepared.kind == "tabular" else
                   f"{prepared.image_shape[2]}×{prepared.image_shape[1]} pixels, "
                   f"{'colour' if prepared.image_shape[0] == 3 else 'greyscale'}"))
    for warning in prepared.warnings:
        st.warning(warning)
    left, right = st.columns([3, 2], gap="large")
    with left:
        if prepared.kind == "image":
            st.caption("A few pictures per class, as the model will see them")
            _image_grid(prepared)
        else:
            st.caption("The first rows, as uploaded")
            st.dataframe(pd.DataFrame(prepared.preview), height=260, hide_index=True)
    with right:
        st.caption("Class balance")
        st.altair_chart(charts.class_balance_chart(prepared.y, prepared.class_names),
                        width="stretch", height=240)
    st.markdown("**How the data was prepared**", help=glossary_help(
        "Splits stay 60 / 20 / 20 (training / validation / test), the same for every class; "
        "scaling and filling are fitted on the training rows only.", "split"))
    st.markdown("\n".join(f"- {note}" for note in prepared.notes)
                or "- Nothing to change: every column is a number.")
