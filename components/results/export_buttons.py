"""Download buttons: the comparison as an offline HTML report, CSV or JSON; a run's model."""
from __future__ import annotations

import streamlit as st

from playground.results import export
from playground.runs.store import Run, Store


def export_buttons(runs: list[Run], store: Store) -> None:
    ids = "-".join(r.id for r in runs)
    st.caption("The report is one HTML file with the charts, tables and configs inside: it "
               "opens offline, in any browser, and can be mailed around.")
    cols = st.columns(3)
    cols[0].download_button(
        "HTML report", lambda: export.html_report(store, runs, "Trade-off report"),
        file_name=f"tradeoffs-{ids}.html", mime="text/html", key="compare_export_html",
        icon="📄", on_click="ignore")
    cols[1].download_button(
        "Table (CSV)", lambda: export.runs_csv(runs), file_name=f"runs-{ids}.csv",
        mime="text/csv", key="compare_export_csv", icon="📊", on_click="ignore")
    cols[2].download_button(
        "Everything (JSON)", lambda: export.runs_json(runs, store),
        file_name=f"runs-{ids}.json", mime="application/json", key="compare_export_json",
        icon="🧾", on_click="ignore")
    st.markdown("**A run's model**: weights (safetensors), config (JSON) and a short Python "
                "script that rebuilds it with this playground's library and scores it.")
    for col, run in zip(st.columns(len(runs)), runs, strict=True):
        model_button(run, store, col, key=f"compare_export_model_{run.id}")


def model_button(run: Run, store: Store, where=st, key: str = "") -> None:
    where.download_button(
        f"Model {run.id} (zip)", lambda: export.model_zip(store, run.id),
        file_name=f"model-{run.id}.zip", mime="application/zip",
        key=key or f"export_model_{run.id}", icon="📦", on_click="ignore")
