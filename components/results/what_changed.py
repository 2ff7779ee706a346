"""What changed between runs, in plain words, and "clone with one change" from any run."""
from __future__ import annotations

import streamlit as st

from components.base.keys import train as train_keys
from playground.common import escape
from playground.common.permissions import LOCAL, Actor, Refused, check, may
from playground.results.run_diff import config_changes
from playground.runs.store import Run
from playground.training.config import config_values


def clone_to_train(run: Run, actor: Actor = LOCAL) -> None:
    """Open the Train page set up exactly like `run`, ready for one change (when `actor`
    may clone it; else say why, and change nothing)."""
    try:
        check(actor, "clone", run)
    except Refused as exc:
        st.error(exc.problem)
        return
    st.session_state[train_keys.PRESET] = {"values": config_values(run.config),
                                        "lock": [], "hide": []}
    st.session_state[train_keys.CLONE_OF] = run.id
    st.switch_page("pages/train.py")


def clone_button(run: Run, key: str, label: str = "Clone with one change",
                 problems: list[str] | None = None, actor: Actor = LOCAL) -> None:
    """`problems`: why the run can't be trained again as it is (then the button says so).
    No button when `actor` may not clone the run (another person's, in a workshop)."""
    if may(actor, "clone", run) is not None:
        return
    why = ("Can't be trained again as it is: " + "; ".join(problems)) if problems else (
        "Clone with one change: opens Train with every setting of this run; change one and "
        "train, then compare the two.")
    if st.button(label, key=key, icon="🧬", width="stretch", help=why,
                 disabled=bool(problems)):
        clone_to_train(run, actor)


def what_changed(runs: list[Run], actor: Actor = LOCAL) -> None:
    """Each run against the first one, as the list of changes that turn one into the other."""
    base = runs[0]
    for run in runs:
        with st.container(border=True):
            head, action = st.columns([3, 1])
            if run is base:
                head.markdown(f"**`{run.id}`** · {escape.md(run.config.label())} — the starting "
                              "point")
            else:
                changes = config_changes(base.config, run.config)
                head.markdown(f"**`{run.id}`** · compared with `{base.id}`:")
                head.markdown("\n".join(f"- {escape.md(c)}" for c in changes) if changes
                              else "- nothing: the same settings (only luck differs)")
            with action:
                clone_button(run, key=f"compare_clone_{run.id}", actor=actor)
