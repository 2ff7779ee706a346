"""Technique switches, built from the registry: adding a technique adds its switch here."""
from __future__ import annotations

from typing import Any

import streamlit as st

from models import model_info
from playground.store import Run
from playground.techniques import Param, all_techniques
from playground.techniques.distillation import NEW_TEACHERS


def _param_widget(tech: str, p: Param, runs: list[Run], dataset_kind: str) -> Any:
    key = f"train_{tech}_{p.name}"
    label = p.name.replace("_", " ").capitalize()
    if p.pick_run:
        by_id = {r.id: r for r in runs}
        fresh = {k: f"Train a teacher first: {title}" for k, (title, settings)
                 in NEW_TEACHERS.items() if dataset_kind in model_info(settings["model"]).kinds}
        if not by_id:
            st.caption("No finished run on this data yet: pick a new teacher below. It "
                       "trains first; the student starts when it is done.")
        return st.selectbox(
            label, list(by_id) + list(fresh), key=key, help=p.help,
            format_func=lambda i: fresh.get(i) or f"{i} · {by_id[i].config.label()} · "
                                  f"{by_id[i].metrics.get('accuracy', 0):.1%}")
    if p.choices:
        return st.selectbox(label, p.choices, index=p.choices.index(p.default), key=key,
                            help=p.help)
    if isinstance(p.default, int):
        return st.slider(label, int(p.min), int(p.max), p.default, key=key, help=p.help)
    if p.max is not None and p.max <= 1 and p.min is not None and p.min >= 0:
        return st.slider(label, float(p.min), float(p.max), float(p.default), 0.05, key=key,
                         help=p.help)
    return st.number_input(label, float(p.min), float(p.max), float(p.default), key=key,
                           help=p.help, format="%g")


def technique_picker(dataset_kind: str, runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Render one switch per technique that suits this data; return the switched-on ones."""
    st.markdown("**Techniques**: switch any on to see what it buys and what it costs.")
    chosen: dict[str, dict[str, Any]] = {}
    for cls in all_techniques():
        if dataset_kind not in cls.kinds:
            continue
        if st.toggle(cls.title, key=f"train_tech_{cls.name}", help=cls.description):
            with st.container(border=True):
                st.caption(cls.description)
                chosen[cls.name] = {p.name: _param_widget(cls.name, p, runs, dataset_kind)
                                    for p in cls.params}
                if cls.name == "distillation" and "dp" in chosen or (
                        cls.name == "dp" and "distillation" in chosen):
                    st.caption("With distillation, ε covers the student's training data "
                               "only: the teacher's data is not protected by it.")
    return chosen
