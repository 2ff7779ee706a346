"""Saving an upload, and the datasets already uploaded, each a click away from Train; a
Delete button on those the person may delete (their own; in a workshop the presenter's
on every upload made in it)."""
from __future__ import annotations

import streamlit as st

from components.base.keys import train as train_keys
from components.base.keys import your_data as keys
from playground.common.permissions import LOCAL, Actor, Refused, may
from playground.data import uploads
from playground.runs.store import Store

TRAIN_PAGE = "pages/train.py"


def default_values(name: str, kind: str) -> dict:
    """A first run that suits the data: the image network for pictures, else a small MLP."""
    return {"dataset": name, "model": "cnn" if kind == "image" else "mlp", "epochs": 10}


def use_dataset(name: str, kind: str) -> None:
    # The Train page applies this preset and pops it (the in-app preset convention).
    st.session_state[train_keys.PRESET] = {"values": default_values(name, kind), "lock": [],
                                        "hide": []}
    st.switch_page(TRAIN_PAGE)


def save_button(prepared: uploads.Prepared, store: Store, actor: Actor = LOCAL) -> None:
    if st.button("Save it and train on it", type="primary", key="your_data_save", icon="▶️"):
        try:
            uploads.save(prepared, store.home, actor)
        except uploads.UploadError as exc:
            st.error("\n".join(exc.problems))
            return
        use_dataset(prepared.name, prepared.kind)


def _delete(store: Store, name: str, actor: Actor) -> None:
    try:
        uploads.delete(name, actor, store.home)
        st.session_state[keys.FLASH] = f"Deleted the dataset {name!r}."
    except Refused as exc:
        st.session_state[keys.FLASH] = f"Nothing was changed. {exc.problem}"


def uploaded_list(store: Store, actor: Actor = LOCAL) -> None:
    if flash := st.session_state.pop(keys.FLASH, None):
        (st.success if flash.startswith("Deleted") else st.error)(flash)
    found = uploads.manifests(store.home)
    if not found:
        st.caption("Nothing uploaded yet.")
        return
    for m in reversed(found):
        with st.container(border=True):
            text, action = st.columns([5, 1])
            counts = ", ".join(f"{c} {n:,}" for c, n in m["class_counts"].items())
            who = (f" · uploaded by {m['owner']} in workshop {m['workspace']}"
                   if m.get("workspace") and m.get("owner") else "")
            text.markdown(f"**{m['name']}** · {m['description']}")
            groups = f" · Sensitive attribute: {m['sensitive']}" if m.get("sensitive") else ""
            text.caption(f"Classes: {counts}{groups}{who}")
            if action.button("Train on it", key=f"your_data_use_{m['name']}"):
                use_dataset(m["name"], m["kind"])
            if may(actor, "delete_upload", m) is None:
                action.button("Delete", key=f"your_data_delete_{m['name']}",
                              on_click=_delete, args=(store, m["name"], actor),
                              help="Remove this dataset's files. Runs trained on it keep "
                                   "their results.")
