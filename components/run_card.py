"""One run as a card: status, live progress and curves, its numbers, cancel and delete."""
from __future__ import annotations

import streamlit as st

from components.format import human_bytes, percent, status_text
from components.narrative import run_narrative
from components.technique_results import technique_results
from components.what_changed import clone_button
from playground import charts
from playground.store import Run, Store


def _cancel(store: Store, run_id: str) -> None:
    store.request_cancel(run_id)


def _delete(store: Store, run_id: str) -> None:
    store.delete(run_id)


def finished_metrics(run: Run) -> None:
    m = run.metrics
    cols = st.columns(4) + st.columns(4)
    cols[0].metric("Accuracy", percent(m.get("accuracy")),
                   help="Share of the held-out test examples the model got right.")
    cols[1].metric("Macro F1", f"{m.get('f1_macro', 0):.3f}",
                   help="Balances mistakes in both directions, averaged so every class "
                        "counts equally, even rare ones. 1 is perfect.")
    cols[2].metric("Parameters", f"{m.get('params', 0):,}",
                   help="How many numbers the model learned.")
    cols[3].metric("Size", human_bytes(m.get("size_bytes", 0)),
                   help="Bytes of the saved weights file.")
    cols[4].metric("Latency", f"{m.get('latency_ms', 0):.2f} ms",
                   help="Median time to predict one example on the training device.")
    cols[5].metric("Training time", f"{m.get('train_seconds', 0):.1f} s")
    cols[6].metric("Device", (run.device or m.get("device", "?")).split(" (")[0],
                   help=run.device or "")


def run_card(run: Run, store: Store, epochs: list[dict]) -> None:
    with st.container(border=True):
        head, actions = st.columns([5, 1])
        head.markdown(f"**{run.config.label()}** · `{run.id}` · {status_text(run.status)}")
        with actions:
            if run.active:
                st.button("Cancel", key=f"runs_cancel_{run.id}", on_click=_cancel,
                          args=(store, run.id), disabled=run.cancel_requested,
                          help="Stop this run. Nothing else is affected.")
            else:
                st.button("Delete", key=f"runs_delete_{run.id}", on_click=_delete,
                          args=(store, run.id), help="Remove this run and its files.")
                clone_button(run, key=f"runs_clone_{run.id}", label="Clone")
        if run.status == "queued":
            st.caption("Waiting for a free worker…")
        elif run.status == "running":
            note = "stopping…" if run.cancel_requested else f"{run.progress:.0%}"
            spent = [e for e in epochs if "epsilon" in e]  # ε arrives just after its epoch
            if spent:
                note += (f" · privacy budget after epoch {spent[-1]['epoch']}: "
                         f"ε = {spent[-1]['epsilon']:.2f}")
            st.progress(min(1.0, run.progress), text=f"Training on {run.device or '…'}: {note}")
        elif run.status == "finished":
            finished_metrics(run)
            run_narrative(run, store, epochs)
            technique_results(run)
        elif run.error:
            first, _, details = run.error.partition("\n\n")
            (st.warning if run.status in ("cancelled", "interrupted") else st.error)(first)
            if details:
                with st.expander("Details"):
                    st.code(details)
        if epochs:
            labels = {run.id: run.id}
            left, right = st.columns(2)
            left.altair_chart(charts.learning_curves_chart(epochs, labels, "accuracy"),
                              width="stretch", height=260, key=f"runs_acc_{run.id}")
            right.altair_chart(charts.learning_curves_chart(epochs, labels, "loss"),
                               width="stretch", height=260, key=f"runs_loss_{run.id}")
