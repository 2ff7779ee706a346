"""Download buttons: the comparison as an offline HTML report, CSV or JSON; a run's model;
and the runs sent to MLflow."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from playground.common import escape
from playground.common.permissions import OPERATOR, Actor, Place, Refused, may
from playground.results import export
from playground.results.ship import Limit
from playground.runs.store import Run, Store


def export_buttons(runs: list[Run], store: Store, mlflow: bool = True,
                   actor: Actor = OPERATOR, limits: Sequence[Limit] = ()) -> None:
    """`limits`: those of "Which run to ship?", so every export names the same pick."""
    if (problem := may(actor, "export", _place(actor))) is not None:
        st.caption(escape.md(problem))
        return
    ids = "-".join(r.id for r in runs)
    st.caption("The report is one HTML file that opens with the summary (the run to ship, "
               "whether the differences are luck, group by group), then the charts, tables "
               "and settings: it opens offline, in any browser, and can be mailed around.")
    cols = st.columns(3)
    cols[0].download_button(
        "HTML report", lambda: export.html_report(store, runs, "Trade-off report", limits),
        file_name=f"tradeoffs-{ids}.html", mime="text/html", key="compare_export_html",
        icon="📄", on_click="ignore")
    cols[1].download_button(
        "Table (CSV)", lambda: export.runs_csv(runs, store, limits), file_name=f"runs-{ids}.csv",
        mime="text/csv", key="compare_export_csv", icon="📊", on_click="ignore")
    cols[2].download_button(
        "Everything (JSON)", lambda: export.runs_json(runs, store, limits),
        file_name=f"runs-{ids}.json", mime="application/json", key="compare_export_json",
        icon="🧾", on_click="ignore")
    st.markdown("**A run's model**: weights (safetensors), config (JSON) and a short Python "
                "script that rebuilds it with this playground's library and scores it.")
    for col, run in zip(st.columns(len(runs)), runs, strict=True):
        model_button(run, store, col, key=f"compare_export_model_{run.id}")
    mlflow_export(runs, store, key="compare_mlflow", allowed=mlflow, actor=actor)


def model_button(run: Run, store: Store, where=st, key: str = "") -> None:
    where.download_button(
        f"Model {run.id} (zip)", lambda: export.model_zip(store, run.id),
        file_name=f"model-{run.id}.zip", mime="application/zip",
        key=key or f"export_model_{run.id}", icon="📦", on_click="ignore")


def mlflow_export(runs: list[Run], store: Store, key: str, allowed: bool = True,
                  actor: Actor = OPERATOR) -> None:
    """A tracking URI and a "Send to MLflow" button for the finished runs among `runs`, as
    `actor` (not `allowed`, or an actor the permission rule refuses, e.g. a participant or a
    visitor: it writes on the server, so only the operator or the presenter may)."""
    ids = [r.id for r in runs if r.status == "finished"]
    if not ids:
        return
    if not allowed or may(actor, "mlflow", _place(actor)) is not None:
        st.caption("Sending runs to MLflow writes on the server, so the server's operator, "
                   "or in a workshop its presenter, does it.")
        return
    what = "this run as an MLflow run" if len(ids) == 1 else f"these {len(ids)} runs as MLflow runs"
    st.markdown(f"**Send to MLflow**: {what}"
                " (settings, curves, test numbers, confusion matrix, model), "
                "for a team that keeps its results there. Runs already there are skipped.")
    uri_col, send_col = st.columns([4, 1], vertical_alignment="bottom")
    uri = uri_col.text_input(
        "MLflow tracking URI", value=export.default_tracking_uri(store), key=f"{key}_uri",
        help="sqlite:///PATH/mlflow.db for a file (made if missing), or http://HOST:PORT "
             "for an MLflow server.")
    if send_col.button("Send to MLflow", key=f"{key}_send", icon="📤", width="stretch"):
        with st.spinner(f"Sending {len(ids)} run(s) to MLflow…"):
            try:
                results = export.export_runs(store, uri.strip(), ids, actor=actor)
            except (export.ExportError, Refused) as e:
                st.error(f"Nothing was sent: {escape.md(e)}.")
                return
        text = export.mlflow_summary(results, uri.strip())
        ok = all(r.outcome in ("exported", "already exported") for r in results)
        (st.success if ok else st.warning)(text.replace("\n", "  \n"))


def _place(actor: Actor) -> Place:
    return Place(actor.workspace, actor.name, actor.person)
