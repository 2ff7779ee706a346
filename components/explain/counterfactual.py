"""Explain page: what would change the decision (counterfactuals), computed by a worker.

Tables: a few sentences ("approved if loan amount 4,000 lower") and a small table of the
changed columns only, in the person's units, with the columns kept fixed chosen here.
Pictures: the nearest test example the run decides differently, shown beside the input.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.polling import end_polling, live_fragment
from components.base.services import live_snapshot, refresh_live
from components.explain.inputs import InputChoice
from components.explain.pick import asker
from playground.common.escape import md
from playground.data.units import RowCodec
from playground.explain import counterfactual as CF
from playground.explain.charts import input_image_chart
from playground.explain.jobs import ExplainJobs
from playground.runs.store import Run

JOB = "explain_counterfactual_job"  # the job this session asked for


def counterfactual_section(runner: ExplainJobs, runs: list[Run], choice: InputChoice) -> None:
    st.subheader("What would change the decision?")
    run = runs[0]
    data = runner.bank.loaded(run.id).data
    if choice.true_class is None:
        st.caption("Shown for the test examples as they are: undo the what-if edits to see "
                   "what would change this example's decision.")
        return
    fixed: list[str] = []
    if data.info.kind == "tabular":
        codec = RowCodec(data)
        fixed = st.multiselect(
            "Keep fixed (no change may touch these)", codec.schema.names,
            default=CF.default_fixed(codec, data.sensitive), key=f"explain_cf_fixed_{run.id}",
            help="Who someone is (the sensitive column) and what no one can change (age) "
                 "are fixed at first. Fix anything a person could not change.")
    elif data.info.kind != "image":
        st.caption("Available for tables and pictures.")
        return
    store, cache = runner.store, CF.CounterfactualCache(runner.store)
    state = st.session_state.get(JOB)
    job_id = state[1] if state and state[0] == (run.id, choice.index, tuple(fixed)) else None
    active = job_id is not None and job_id in {j.id for j in live_snapshot().jobs}
    asked = (CF.Asked(None, job_id) if active else
             CF.ask(store, cache, run.id, choice.index, fixed, job_id=job_id, **asker()))
    if asked.job_id != job_id:
        refresh_live()  # a new job: the sidebar's queue counts it
    st.session_state[JOB] = ((run.id, choice.index, tuple(fixed)), asked.job_id)
    waiting = asked.waiting

    @live_fragment(waiting)
    def panel() -> None:
        now = asked
        if waiting:
            job = next((j for j in live_snapshot().jobs if j.id == now.job_id), None)
            now = CF.Asked(None, now.job_id) if job is not None else CF.ask(
                store, cache, run.id, choice.index, fixed, job_id=now.job_id, **asker())
            if now.waiting:
                queued = job is None or job.status == "queued"
                st.caption("Waiting for a free worker (runs and explanations take turns), "
                           "then searching for small changes that turn the decision…"
                           if queued else f"Searching in a background worker for small "
                           f"changes that turn run {run.id}'s decision…")
                return
            end_polling()
            return
        if now.error:
            st.error(f"Could not search for changes: {md(now.error)}")
            return
        _show(now.answer, run, data, choice)

    panel()


def _show(answer: CF.Counterfactuals, run: Run, data, choice: InputChoice) -> None:
    names = data.class_names
    if data.info.kind == "image":
        if answer.nearest is None:
            st.info(answer.note)
            return
        left, right = st.columns([1, 3], vertical_alignment="center")
        left.altair_chart(input_image_chart(data.X_test[answer.nearest]),
                          key="explain_cf_nearest", width="content")
        right.markdown(f"Run **{run.id}** decides this example "
                       f"**{md(names[answer.decision])}**. The nearest test example it "
                       f"decides otherwise (**{md(names[answer.target])}**) is "
                       f"#{answer.nearest}, on the left: what differs between the two is "
                       "what it takes.")
        return
    codec = RowCodec(data)
    if not answer.changes:
        st.info(f"Run {run.id} decides **{md(names[answer.decision])}**. {answer.note}")
        return
    lines = [f"- {md(CF.sentence(codec, c, names))}" for c in answer.changes]
    st.markdown(f"Run **{run.id}** decides **{md(names[answer.decision])}**. It would decide "
                f"otherwise with any one of these changes:\n" + "\n".join(lines))
    changed = list(dict.fromkeys(c for ch in answer.changes for c in ch.changes))
    table = pd.DataFrame(
        [{"": "as it is", **{c: codec.format(c, codec.to_raw(choice.x)[c]) for c in changed}}]
        + [{"": f"change {k + 1} → {names[ch.decision]}",
            **{c: codec.format(c, ch.changes[c][1]) if c in ch.changes else "" for c in changed}}
           for k, ch in enumerate(answer.changes)])
    st.dataframe(table, hide_index=True, key="explain_cf_table", width="stretch")
    fixed = ", ".join(answer.fixed) or "nothing"
    st.caption(f"Found by DiCE's random search over the run's own decisions (its decision "
               f"rule included), each change checked again; numbers stay within the "
               f"training data's range. Kept fixed: {md(fixed)}. {answer.seconds:.1f} s.")
