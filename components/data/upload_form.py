"""The upload form: file, target column, name; then what was found, before anything is saved.

The file is checked by a worker, never here: the form stages it, queues the check and polls
until the worker has written what it found (see `playground.experiments.upload_jobs`).
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from components.base.keys import your_data as keys
from components.base.polling import POLL_SECONDS, end_polling
from components.base.services import live_snapshot, refresh_live
from playground.common import escape
from playground.common.permissions import Actor, Refused
from playground.data import uploads
from playground.data.uploads import staging
from playground.experiments import upload_jobs
from playground.results import charts
from playground.runs.store import Store
from playground.teaching.glossary import control_help, glossary_help


def _problems(problems: list[str]) -> None:
    st.error("**This file can't be used yet.**\n\n"
             + "\n".join(f"- {escape.md(p)}" for p in problems))


def upload_form(store: Store, actor: Actor) -> uploads.Prepared | None:
    """Render the form; return the checked upload, or None (problems or the wait shown)."""
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
    if name := st.session_state.get(keys.SAVED, {}).get(_digest(data)):
        st.success(f"Saved as {escape.md(name)}: it is in the list below.")
        return None
    found = _checked(store, actor, data, filename, None)
    if found is None:
        return None
    if found.columns is not None:  # a table: its target is a choice (guessed at first)
        columns = found.columns
        target = st.selectbox(
            "Column to predict (the target)", columns,
            index=columns.index(found.target) if found.target in columns else 0,
            key="your_data_target",
            help=control_help("target", "The model learns to predict this column from "
                                        "all the others."))
        if target != found.target:
            found = _checked(store, actor, data, filename, target)
            if found is None:
                return None
    if found.prepared is None:
        _problems(found.problems)
        return None
    prepared = found.prepared
    name = st.text_input(
        "Name it", value=uploads.suggest_name(filename), key=f"your_data_name_{filename}",
        max_chars=40, help=control_help(
            "dataset", "Lowercase letters, digits and underscores. The name shows in the "
                       "dataset list on Train and in the CLI (--dataset NAME)."))
    if problem := uploads.name_problem(name):
        st.error(escape.md(problem))
        return None
    prepared = _words(prepared)
    sensitive = _sensitive(prepared)
    return replace(prepared, name=name, sensitive=sensitive,
                   leave_out=_leave_out(prepared, sensitive))


def _words(prepared: uploads.Prepared) -> uploads.Prepared:
    """A free-text column beside other columns: read as words, or left out (the table's
    own models can't read words). Text alone is always read."""
    if not prepared.text_column or prepared.X.shape[1] == 0:
        return prepared
    name = escape.md(prepared.text_column)
    on = st.toggle(
        f"Read {name} as words", value=prepared.kind == "text", key="your_data_words",
        help=glossary_help(
            "On: the text is split into word pieces by a tokenizer learnt from the training "
            "rows, and the word-count models learn from the words and the other columns "
            "together. Off: the text is left out and every table model can be used.",
            "dataset"))
    prepared = uploads.read_words(prepared, on)
    if on:
        st.caption("Models that take the words and the other columns together: word counts "
                   "(logistic regression) and word counts with a small network. The tiny "
                   "BERT reads the words alone: leave the other columns out of the model "
                   "below to train it.")
    return prepared


def _digest(data: bytes) -> str:
    """The content's digest, hashed once per file this session uploaded."""
    digests = st.session_state.setdefault(keys.DIGESTS, {})
    size_and_head = f"{len(data)}:{hashlib.sha256(data[:65536]).hexdigest()}"
    if size_and_head not in digests:
        digests.clear()  # only the file on the form matters
        digests[size_and_head] = staging.digest_of(data)
    return digests[size_and_head]


def _checked(store: Store, actor: Actor, data: bytes, filename: str,
             target: str | None) -> staging.Outcome | None:
    """What a worker found in the file for `target`; None while it checks (the wait shown
    and polled) or when it can't (the reason shown)."""
    asked = upload_jobs.Check(_digest(data), filename, target)
    if (found := staging.read_outcome(asked.key, store.home)) is not None:
        return found
    failed = st.session_state.setdefault(keys.FAILED, {})
    if asked.key in failed:
        st.error(escape.md(failed[asked.key]))
        if st.button("Check it again", key="your_data_check_again"):
            failed.pop(asked.key, None)
            st.rerun()
        return None
    try:
        asked, job_id = upload_jobs.request(store, actor, data, filename, target,
                                            requester=_session_id(),
                                            active=live_snapshot(fresh=True).jobs)
    except Refused as exc:
        st.error(escape.md(exc.problem))
        return None
    except uploads.UploadError as exc:
        _problems(exc.problems)
        return None
    if job_id is not None:
        st.session_state.setdefault(keys.JOBS, {})[asked.key] = job_id
        refresh_live()
    _waiting(store, asked)
    return None


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _waiting(store: Store, asked: upload_jobs.Check) -> None:
    """"Checking the data…" until the worker is done: a light poll of the shared snapshot
    and one file's presence; the whole page redraws once the result is there."""

    @st.fragment(run_every=POLL_SECONDS)
    def poll() -> None:
        if staging.read_outcome(asked.key, store.home) is not None:
            end_polling()
            return
        mine = [j for j in live_snapshot().jobs
                if j.kind == upload_jobs.KIND and upload_jobs.Check(**j.payload) == asked]
        job_id = st.session_state.get(keys.JOBS, {}).get(asked.key)
        if not mine and job_id is not None and (
                problem := upload_jobs.ended_problem(store, job_id)) is not None:
            if staging.read_outcome(asked.key, store.home) is None:  # not a refused file
                st.session_state.setdefault(keys.FAILED, {})[asked.key] = problem
            end_polling()
            return
        if not mine and job_id is None:
            end_polling()  # queued by another session and gone: look again
            return
        waiting = any(j.status == "queued" for j in mine)
        st.info("Checking the data… " + (
            "waiting for a free worker (runs and checks take turns)." if waiting else
            "reading every row or picture; this page shows what was found when it is done."),
            icon="⏳")

    poll()


def _sensitive(prepared: uploads.Prepared) -> str:
    """The column that names each row's group, for the fairness check ("": none). Every
    input column is offered; why one can't name groups is said only once it is picked."""
    if prepared.kind not in ("tabular", "text") or not (prepared.groups or prepared.not_groups):
        return ""
    chosen = st.selectbox(
        "Sensitive attribute (optional)", ["", *prepared.groups, *prepared.not_groups],
        key="your_data_sensitive", format_func=lambda c: c or "none", help=control_help(
            "sensitive", "Runs on this data then report accuracy, approval rate and error "
            f"rates group by group (fairlearn). A column with at most {uploads.MAX_GROUPS} "
            "different values; each run can still pick another on Train."))
    if chosen in prepared.not_groups:
        st.warning(f"{escape.md(chosen)} can't name groups: it "
                   f"{escape.md(prepared.not_groups[chosen])}.")
        return ""
    return chosen


def _leave_out(prepared: uploads.Prepared, sensitive: str) -> tuple[str, ...]:
    """Columns the model must not see (they can still be the sensitive attribute)."""
    if prepared.kind not in ("tabular", "text") or prepared.schema is None:
        return ()
    # The text read as words is what a text model reads: never left out.
    names = [c.name for c in prepared.schema if c.kind != "text"]
    if len(names) < (1 if prepared.kind == "text" else 2):
        return ()
    chosen = st.multiselect(
        "Leave out of the model (optional)", names, key="your_data_leave_out",
        help=control_help("sensitive", "The model never sees these columns. A column left "
                                       "out can still be the sensitive attribute, so the "
                                       "audit shows whether leaving it out closed the gap "
                                       "between groups (other columns often stand in for "
                                       "it)."))
    if sensitive and sensitive in chosen:
        st.caption(f"{escape.md(sensitive)} stays out of the model and is still used to "
                   "compare the groups.")
    if len(chosen) >= len(prepared.schema):
        st.error("Keep at least one column for the model to learn from.")
        return ()
    if prepared.kind == "text" and len(chosen) == len(names):
        st.caption("Only the words are left: every text model, the tiny BERT included, "
                   "can learn from them.")
    return tuple(chosen)


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
                + (f"**{prepared.columns_used}** input columns"
                   if prepared.kind in ("tabular", "text") else
                   f"{prepared.image_shape[2]}×{prepared.image_shape[1]} pixels, "
                   f"{'colour' if prepared.image_shape[0] == 3 else 'greyscale'}"))
    for warning in prepared.warnings:
        st.warning(escape.md(warning))
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
    st.markdown("\n".join(f"- {escape.md(note)}" for note in prepared.notes)
                or "- Nothing to change: every column is a number.")
    if prepared.kind in ("tabular", "text"):
        with st.expander("Details: the model's inputs"):
            st.markdown(escape.md(prepared.inputs_note))
            st.caption(", ".join(escape.md(n) for n in prepared.feature_names))
