"""The Train page's sweep control: one knob, several values (and seeds), one click."""
from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from components.base.keys import sweeps as sweeps_keys
from components.base.keys import train as train_keys
from components.base.services import get_store
from components.experiments.workshop_session import pending, session_actor
from playground.common import escape
from playground.common.permissions import Refused
from playground.data.catalog import dataset_info
from playground.experiments.sweeps import (
    SweepError,
    knobs,
    parse_values,
    plan_sweep,
    start_sweep,
)
from playground.experiments.workshop import WorkshopError
from playground.training.config import setting_title, shorthands
from playground.training.techniques import technique_class

# A good first list of values for a run setting, so one click gives a useful curve (a
# technique's settings say their own: Param.sweep).
SUGGESTED = {
    "epochs": "2, 5, 10, 20", "lr": "0.001, 0.01, 0.1", "batch_size": "16, 64, 256",
    "width": "8, 32, 128", "depth": "1, 2, 4", "noise": "0.1, 0.3, 0.5", "seed": "0, 1, 2",
    "train_fraction": "0.1, 0.3, 1",
}


def suggested(knob: str) -> str:
    if knob in shorthands():
        tech, name = shorthands()[knob]
        return next(p.sweep for p in technique_class(tech).params if p.name == name)
    return SUGGESTED.get(knob, "")


def _knobs_for(values: dict[str, Any]) -> list[str]:
    kind = dataset_info(values["dataset"]).kind
    out = []
    for k in knobs():
        if k in shorthands():
            if kind not in technique_class(shorthands()[k][0]).kinds:
                continue
        elif k == "noise" and "noise" not in values:
            continue
        elif k in ("width", "depth") and k not in values:
            continue
        out.append(k)
    return out


def sweep_control(values: dict[str, Any]) -> None:
    """An expander under the Train button; queues the sweep and links to its view."""
    with st.expander("Sweep: try several values of one setting", icon="📈"):
        st.caption("Everything stays as set above except the one setting you pick. Each "
                   "value becomes a run (same seed); repeat over more seeds to see how much "
                   "is luck. Values: a list like 0, 0.5, 1 or a range start:stop:step.")
        options = _knobs_for(values)
        knob = st.selectbox("Setting to vary", options, key="train_sweep_knob",
                            index=options.index("dp_noise") if "dp_noise" in options else 0,
                            format_func=partial(setting_title, detail=True))
        text_key = f"train_sweep_values_{knob}"
        text = st.text_input("Values", suggested(knob), key=text_key,
                             help="Technique settings also take 'off' (switched off).")
        seeds = st.number_input("Seeds per value", 1, 10, 1, key="train_sweep_seeds",
                                help="3 seeds show the spread between runs as a band.")
        try:
            count = len(parse_values(knob, text)) * int(seeds)
            label = f"Queue sweep ({count} runs)"
        except SweepError:
            label = "Queue sweep"
        if st.button(label, key="train_sweep_submit", icon="📈"):
            try:
                plan = plan_sweep(values, knob, text, seeds=int(seeds))
            except SweepError as exc:
                st.error("This sweep can't start yet:\n\n"
                         + "\n".join(f"- {escape.md(p)}" for p in exc.problems))
            else:
                try:
                    if waiting := pending():
                        raise Refused(f"You opened workshop {waiting} but have not joined "
                                      "it: join it on the Workshop page first.")
                    sweep = start_sweep(get_store(), plan, session_actor())
                except (Refused, WorkshopError) as exc:
                    st.error("\n".join(escape.md(p) for p in exc.problems))
                else:
                    st.session_state[train_keys.LAST_SWEEP] = (sweep.id, sweep.title,
                                                            len(sweep.runs))
                    st.session_state[sweeps_keys.SELECTED] = sweep.id
        if last := st.session_state.get(train_keys.LAST_SWEEP):
            st.success(f"Queued sweep **{escape.md(last[1])}**: {last[2]} runs.")
            st.page_link("pages/sweeps.py", label="Watch the trade-off curve on Sweeps",
                         icon="📈")
