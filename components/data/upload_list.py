"""Saving an upload, and the datasets already uploaded, each a click away from Train."""
from __future__ import annotations

import streamlit as st

from playground.data import uploads
from playground.runs.store import Store

TRAIN_PAGE = "pages/train.py"


def default_values(name: str, kind: str) -> dict:
    """A first run that suits the data: the image network for pictures, else a small MLP."""
    return {"dataset": name, "model": "cnn" if kind == "image" else "mlp", "epochs": 10}


def use_dataset(name: str, kind: str) -> None:
    # The Train page applies this preset and pops it (the in-app preset convention).
    st.session_state["train_preset"] = {"values": default_values(name, kind), "lock": [],
                                        "hide": []}
    st.switch_page(TRAIN_PAGE)


def save_button(prepared: uploads.Prepared, store: Store) -> None:
    if st.button("Save it and train on it", type="primary", key="your_data_save", icon="▶️"):
        try:
            uploads.save(prepared, store.home)
        except uploads.UploadError as exc:
            st.error("\n".join(exc.problems))
            return
        use_dataset(prepared.name, prepared.kind)


def uploaded_list(store: Store) -> None:
    found = uploads.manifests(store.home)
    if not found:
        st.caption("Nothing uploaded yet.")
        return
    for m in reversed(found):
        with st.container(border=True):
            text, action = st.columns([5, 1])
            counts = ", ".join(f"{c} {n:,}" for c, n in m["class_counts"].items())
            text.markdown(f"**{m['name']}** · {m['description']}")
            groups = f" · Sensitive attribute: {m['sensitive']}" if m.get("sensitive") else ""
            text.caption(f"Classes: {counts}{groups}")
            if action.button("Train on it", key=f"your_data_use_{m['name']}"):
                use_dataset(m["name"], m["kind"])
