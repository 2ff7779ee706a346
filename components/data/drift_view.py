"""Your data: "Check a new batch". New rows of an uploaded table against a finished run
trained on it: has the data moved, and does the run still get them right?

The check runs in a worker (`playground.experiments.drift_check`); the page stages the file,
queues the job and polls cheaply from the shared snapshot until the answer is kept with the
run. Uploading a batch is for those who may upload (the operator, a workshop's presenter).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components.base.polling import end_polling, live_fragment
from components.base.services import live_snapshot, refresh_live, shared_value
from playground.common.escape import md
from playground.common.formatting import percent
from playground.common.permissions import Actor, Place, Refused, may
from playground.data import uploads
from playground.experiments import drift_check
from playground.runs.store import Run, Store

DATASET = "your_data_drift_dataset"  # the uploaded table picked
RUN = "your_data_drift_run"  # the finished run picked
FILE = "your_data_drift_file"  # the new batch's upload box
JOB = "your_data_drift_job"  # (run id, file id) -> (cache key, job id) this session asked


def _finished_on_uploads(store: Store, names: set[str]) -> list[Run]:
    ended = live_snapshot().ended
    finished = shared_value(("your_data_drift_runs", ended),
                            lambda: store.list_runs(statuses=("finished",)))
    return [r for r in finished if r.config.dataset in names]


def drift_section(store: Store, actor: Actor) -> None:
    st.subheader("Check a new batch")
    st.write("Will a run still work next month? Upload new rows with the same columns as the "
             "table it was trained on: each column is compared with the training rows, a model "
             "tries to tell new rows from old, and if the rows carry the answer column you "
             "see the run's accuracy on them beside its test accuracy.")
    manifests = uploads.manifests(store.home)
    tables = {m["name"] for m in manifests if m["kind"] == "tabular"}
    runs = _finished_on_uploads(store, tables) if tables else []
    if not runs:
        worded = any(m["kind"] == "text" for m in manifests)
        st.caption("No finished run on an uploaded table yet: upload a table, train a run on "
                   "it, then check new rows against that run here."
                   + (" Uploads read as words are not checked yet: the checks compare "
                      "number and category columns." if worded else ""))
        return
    if (problem := may(actor, "upload", Place(actor.workspace, actor.name))) is not None:
        st.caption(md(problem))
        return
    datasets = sorted({r.config.dataset for r in runs})
    left, right = st.columns(2)
    dataset = left.selectbox("Uploaded table", datasets, key=DATASET)
    by_id = {r.id: r for r in runs if r.config.dataset == dataset}
    run_id = right.selectbox(
        "Finished run trained on it", list(by_id), key=RUN,
        format_func=lambda i: (f"{i} · {by_id[i].config.label()} · accuracy "
                               f"{percent(by_id[i].metrics.get('accuracy'))}"))
    if run_id not in by_id:
        return
    file = st.file_uploader("New rows (CSV, same columns)", type=["csv", "tsv", "txt"],
                            key=FILE, help="The column the run predicts is optional: with it, "
                                           "you also see how often the run is right on them.")
    if file is None:
        return
    asked = _asked(store, actor, run_id, file)
    if asked is None:
        return
    waiting = asked.waiting

    @live_fragment(waiting)
    def panel() -> None:
        now = asked
        if waiting:
            job = next((j for j in live_snapshot().jobs if j.id == now.job_id), None)
            if job is not None:
                st.caption("Waiting for a free worker (runs and checks take turns)…"
                           if job.status == "queued" else
                           f"Comparing the new rows with run {run_id}'s training rows…")
                return
            now = drift_check.poll(store, run_id, now.key, now.job_id)
            if now.waiting:
                return
            end_polling()
            return
        if now.error:
            st.error(f"Could not check the batch: {md(now.error)}")
            return
        show_answer(now.answer)

    panel()


def _asked(store: Store, actor: Actor, run_id: str, file) -> drift_check.Asked | None:
    """The answer or the job for this file and run: asked once per session, then polled."""
    mine = st.session_state.get(JOB)
    if mine and mine[0] == (run_id, file.file_id):
        key, job_id = mine[1]
        return drift_check.poll(store, run_id, key, job_id) if job_id is None or job_id not in {
            j.id for j in live_snapshot().jobs} else drift_check.Asked(key, None, job_id)
    ctx = get_script_run_ctx()
    try:
        asked = drift_check.ask(store, actor, run_id, file.getvalue(), file.name,
                                requester=ctx.session_id if ctx else None)
    except Refused as exc:
        st.error(md(exc.problem))
        return None
    except uploads.UploadError as exc:
        st.error("\n\n".join(md(p) for p in exc.problems))
        return None
    st.session_state[JOB] = ((run_id, file.file_id), (asked.key, asked.job_id))
    if asked.job_id is not None:
        refresh_live()  # a new job: the sidebar's queue counts it
    return asked


def show_answer(answer: drift_check.DriftAnswer) -> None:
    """The verdict first, then the accuracy on labelled rows, then the table per column."""
    report = answer.report
    (st.warning if report.drifted else st.success)(md(report.verdict()))
    if report.classifier is not None:
        st.markdown(md(report.classifier.sentence() + "."))
    if answer.labels is not None:
        st.markdown(md(answer.labels.sentence()))
    table = pd.DataFrame([{
        "Column": c.name,
        "Verdict": "moved" if c.moved else "no sign of a move",
        "Training rows": c.old, "New rows": c.new,
        "What changed": c.direction if c.moved else "",
        "Never seen before": ", ".join(c.unseen),
        "Test": c.test,
        "Chance of a move this big by luck (corrected)": f"{c.p_holm:.3g}",
    } for c in sorted(report.columns, key=lambda c: c.p_holm)])
    st.dataframe(table, hide_index=True, key="your_data_drift_table", width="stretch")
    for note in report.notes:
        st.caption(md(note))
    st.caption(f"{md(answer.filename)} · {report.new_rows:,} new rows against "
               f"{report.old_rows:,} training rows · {md(report.method())} Checked in "
               f"{answer.seconds:.1f} s.")
