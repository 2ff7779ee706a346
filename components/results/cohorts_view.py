"""'Where it fails' on a finished run's card: the groups of test examples it gets wrong most
often, found by a worker (playground.results.cohorts) and kept with the run.

Nothing is queued until someone asks (a page of thirty cards must not start thirty jobs);
once found, the answer is read from the run's folder. A group opens in Explain with only its
examples to pick from.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.base.keys import explain as explain_keys
from components.base.polling import end_polling, live_fragment
from components.base.services import live_snapshot, refresh_live
from playground.common.escape import md
from playground.common.formatting import percent
from playground.results import cohorts as C
from playground.runs.store import Run, Store

JOB = "runs_cohorts_job_"  # + run id: the job this session asked for
SHOWN = 6  # groups in the table


def where_it_fails(run: Run, store: Store, asker: dict[str, Any] | None = None,
                   key: str = "runs") -> None:
    """The section. `asker`: who asks (requester, workspace, owner) for the fair queue;
    `key`: keeps widgets apart when one run's card is drawn twice on a page."""
    cache = C.CohortCache(store)
    with st.expander("Where it fails", expanded=False):
        found = cache.get(run.id)
        if found is not None:
            _show(found, run, store, key)
            return
        job_id = st.session_state.get(JOB + run.id)
        if job_id is None:
            st.caption("Which groups of test examples does this run get wrong most often? "
                       "A background worker looks, in a few seconds.")
            if st.button("Find where it fails", key=f"{key}_cohorts_ask_{run.id}"):
                asked = C.ask(store, run.id, cache=cache, **(asker or {}))
                st.session_state[JOB + run.id] = asked.job_id
                refresh_live()  # a new job: the sidebar's queue counts it
                st.rerun()
            return
        _waiting(run, store, cache, job_id, key)


def _waiting(run: Run, store: Store, cache: C.CohortCache, job_id: str, key: str) -> None:
    active = job_id in {j.id for j in live_snapshot().jobs}

    @live_fragment(active)
    def panel() -> None:
        job = next((j for j in live_snapshot().jobs if j.id == job_id), None)
        now = C.Asked(None, job_id) if job is not None else C.ask(store, run.id,
                                                                  job_id=job_id, cache=cache)
        if now.waiting:
            queued = job is None or job.status == "queued"
            st.caption("Waiting for a free worker (runs and explanations take turns)…"
                       if queued else "Looking for the groups it gets wrong most often…")
            return
        if active:
            end_polling()  # found: a full rerun draws it and stops the polling
            return
        if now.error:
            st.error(f"Could not look: {md(now.error)}")
            return
        _show(now.answer, run, store, key)

    panel()


def cohort_table(found: C.ErrorCohorts, top: int = SHOWN) -> pd.DataFrame:
    """One row per group, worst first, in words and percentages."""
    rows = [{"Where": c.words, "Wrong": percent(c.rate), "Examples": c.size,
             "More than luck": "yes" if c.beyond_luck else "no"}
            for c in found.cohorts[:top]]
    return pd.DataFrame(rows, columns=["Where", "Wrong", "Examples", "More than luck"])


def _show(found: C.ErrorCohorts, run: Run, store: Store, key: str) -> None:
    st.markdown(md(found.verdict))
    if not found.cohorts:
        return
    st.dataframe(cohort_table(found), hide_index=True, width="stretch",
                 key=f"{key}_cohorts_table_{run.id}",
                 column_config={"Where": st.column_config.TextColumn(width="large")})
    how = ("Groups found by " + found.method + ". 'More than luck': more mistakes than the "
           "rest of the test examples, beyond what chance gives (Fisher's exact test, "
           "corrected for the number of groups).")
    st.caption(md(how))
    if found.groups:
        said = "; ".join(f"{g.words}: {percent(g.rate)} wrong of {g.size}"
                         + (" (more than luck)" if g.beyond_luck else "")
                         for g in found.groups)
        st.caption(md(f"By the sensitive column, on every test example: {said}."))
    if found.confusions and found.kind != "tabular":
        mixed = "; ".join(f"{c.words} ({c.wrong} times)" for c in found.confusions[:3])
        st.caption(md(f"Biggest mix-ups: {mixed}."))
    choices: dict[str, tuple[str, list[int]]] = {
        f"g{k}": (c.words, c.indices) for k, c in enumerate(found.cohorts[:SHOWN])}
    choices |= {f"s{k}": (c.words, c.indices) for k, c in enumerate(found.groups)}
    if found.confident:
        choices["sure"] = ("its most confident mistakes", [m["index"] for m in found.confident])
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    picked = left.selectbox("Look at these examples in Explain", list(choices),
                            key=f"{key}_cohorts_pick_{run.id}",
                            format_func=lambda k: f"{choices[k][0]} ({len(choices[k][1])})")
    if right.button("Open in Explain", key=f"{key}_cohorts_open_{run.id}"):
        label, indices = choices[picked]
        open_in_explain(run, label, indices)


def open_in_explain(run: Run, label: str, indices: list[int]) -> None:
    """Explain, on this run, with only these test examples to pick from."""
    st.session_state[explain_keys.COHORT] = {"run": run.id, "label": label,
                                             "indices": [int(i) for i in indices]}
    st.session_state[explain_keys.DATASET] = run.config.dataset
    st.session_state[explain_keys.RUNS] = [run.id]
    st.session_state[explain_keys.FILTER] = explain_keys.COHORT_FILTER
    st.switch_page("pages/explain.py")
