"""Saving an upload (and training on it at once, or trying the trade-offs on it), and the
datasets already uploaded, each a click away from Train and from the trade-offs; a Delete
button on those the person may delete (their own; in a workshop the presenter's on every
upload made in it)."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from components.base.keys import train as train_keys
from components.base.keys import your_data as keys
from playground.common import escape
from playground.common.permissions import LOCAL, Actor, Place, Refused, may
from playground.data import uploads
from playground.data.uploads import staging
from playground.experiments import tradeoffs
from playground.experiments.workshop import submit_as
from playground.runs.store import Store
from playground.training.config import ConfigError, make_config

TRAIN_PAGE = "pages/train.py"
RUNS_PAGE = "pages/runs.py"


def default_values(name: str, kind: str) -> dict:
    """A first run that suits the data: the image network for pictures, word counts for
    text, else a small MLP."""
    return {"dataset": name, "model": tradeoffs.FIRST_MODEL.get(kind, "mlp"), "epochs": 10}


def use_dataset(name: str, kind: str) -> None:
    # The Train page applies this preset and pops it (the in-app preset convention).
    st.session_state[train_keys.PRESET] = {"values": default_values(name, kind), "lock": [],
                                        "hide": []}
    st.switch_page(TRAIN_PAGE)


def saved(prepared: uploads.Prepared, store: Store, actor: Actor) -> dict | None:
    """Save the upload; its manifest, or None with the problem shown."""
    try:
        uploads.save(prepared, store.home, actor)
    except uploads.UploadError as exc:
        st.error("\n".join(escape.md(p) for p in exc.problems))
        return None
    staging.discard(prepared.source["sha256"], store.home)  # saved: the staged copy goes
    st.session_state.setdefault(keys.SAVED, {})[prepared.source["sha256"]] = prepared.name
    return uploads.manifest_of(prepared.name, store.home)


def train_now(store: Store, manifest: dict, actor: Actor = LOCAL) -> bool:
    """Queue a first run on the upload through the one way to queue; False (problem shown)
    when refused."""
    try:
        config = make_config(**tradeoffs.base_values(manifest))
        submit_as(store, actor, config, store.home)
    except ConfigError as exc:
        st.error("Nothing was queued. " + escape.md("; ".join(exc.problems)))
        return False
    except (ValueError, PermissionError) as exc:
        st.error("Nothing was queued. " + escape.md(str(getattr(exc, "problem", exc))))
        return False
    return True


def save_button(prepared: uploads.Prepared, store: Store, actor: Actor = LOCAL,
                then: Callable[[dict], None] | None = None, then_label: str = "") -> None:
    """"Save it and train on it", and beside it `then_label`: save, then `then(manifest)`."""
    train, other = st.columns(2)
    if train.button("Save it and train on it", type="primary", key="your_data_save",
                    icon="▶️", help="Saves the data and starts a first run on it; the Runs "
                                    "page shows it training."):
        if (manifest := saved(prepared, store, actor)) and train_now(store, manifest, actor):
            # The run is queued: watch it on Runs (Train's handoff could open its card).
            st.switch_page(RUNS_PAGE)
    if then is not None and other.button(then_label, key="your_data_save_then", icon="⚖️"):
        if (manifest := saved(prepared, store, actor)) is not None:
            then(manifest)


def _delete(store: Store, name: str, actor: Actor) -> None:
    try:
        uploads.delete(name, actor, store.home)
        st.session_state[keys.FLASH] = f"Deleted the dataset {name!r}."
    except Refused as exc:
        st.session_state[keys.FLASH] = f"Nothing was changed. {exc.problem}"


def uploaded_list(store: Store, actor: Actor = LOCAL,
                  row_action: Callable[[dict, str], None] | None = None) -> None:
    """Every upload, newest first; `row_action(manifest, key)` draws one more control on the
    rows of those the person may queue runs on."""
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
            text.markdown(f"**{escape.md(m['name'])}** · {escape.md(m['description'])}")
            groups = f" · Sensitive attribute: {m['sensitive']}" if m.get("sensitive") else ""
            left = (f" · Left out of the model: {', '.join(m['leave_out'])}"
                    if m.get("leave_out") else "")
            text.caption(escape.md(f"Classes: {counts}{groups}{left}{who}"))
            if action.button("Train on it", key=f"your_data_use_{m['name']}"):
                use_dataset(m["name"], m["kind"])
            if row_action and may(actor, "queue", Place(actor.workspace, actor.name)) is None:
                with text:
                    row_action(m, f"your_data_row_{m['name']}")
            if may(actor, "delete_upload", m) is None:
                action.button("Delete", key=f"your_data_delete_{m['name']}",
                              on_click=_delete, args=(store, m["name"], actor),
                              help="Remove this dataset's files. Runs trained on it keep "
                                   "their results.")
