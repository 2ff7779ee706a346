"""Technique switches, built from the registry: adding a technique adds its switch here."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from components.training.seeding import seed
from components.training.url_presets import fixed_value, hidden, locked, technique_fixed_on
from playground.common import escape
from playground.runs.store import Run
from playground.teaching.glossary import technique_help
from playground.training.techniques import all_techniques, technique_class, together_note
from playground.training.techniques.base import Param


def _control(p: Param) -> str:
    """The name a link uses to lock or hide this setting (its CLI shorthand)."""
    return (p.flag or "").lstrip("-").replace("-", "_")


def _param_widget(tech: str, p: Param, runs: list[Run], dataset_kind: str) -> Any:
    key = f"train_{tech}_{p.name}"
    label = p.title()
    if hidden(_control(p)):
        return fixed_value(_control(p), p.default)
    if not p.participant_sets:  # the room's (a lesson's or the data's), nobody's control
        value = fixed_value(_control(p), p.default)
        st.caption(f"**{p.title()}**: " + (escape.md(p.help) if value == p.default
                                           else f"{value:g}, set for this lesson."))
        return value
    p = replace(p, help=technique_help(tech, p.help, p.name))  # + its glossary entry
    return _draw(tech, p, runs, dataset_kind, key, label, locked(_control(p)))


def _draw(tech: str, p: Param, runs: list[Run], dataset_kind: str, key: str, label: str,
          disabled: bool) -> Any:
    if p.pick_run:
        by_id = {r.id: r for r in runs}
        fresh = technique_class(tech).new_run_choices(p.name, dataset_kind)
        if not by_id:
            st.caption("No finished run on this data yet: pick a new one below. It trains "
                       "first; this run starts when it is done." if fresh else
                       "No finished run on this data yet: train one first.")
        if st.session_state.get(key) not in {*by_id, *fresh}:
            if st.session_state.get(key):
                st.warning(f"Run {escape.md(repr(st.session_state[key]))} is not a finished run "
                           f"on this data, so it can't be used here ({label.lower()}); pick "
                           "one below.")
            st.session_state.pop(key, None)
        return st.selectbox(
            label, list(by_id) + list(fresh), key=key, help=p.help, disabled=disabled,
            format_func=lambda i: fresh.get(i) or f"{i} · {by_id[i].config.label()} · "
                                  f"{by_id[i].metrics.get('accuracy', 0):.1%}")
    # Each control starts from its parameter's default through session state (see seed).
    if isinstance(p.default, bool):  # before int: a bool is an int to Python
        return st.checkbox(label, key=seed(key, p.default), help=p.help, disabled=disabled)
    if p.choices:
        if st.session_state.get(key) not in p.choices:
            st.session_state.pop(key, None)
        return st.selectbox(label, p.choices, key=seed(key, p.default), help=p.help,
                            disabled=disabled, format_func=p.word)
    if isinstance(p.default, int):
        return st.slider(label, int(p.min), int(p.max), key=seed(key, p.default),
                         help=p.help, disabled=disabled)
    if p.max is not None and p.max <= 1 and p.min is not None and p.min >= 0:
        return st.slider(label, float(p.min), float(p.max), step=0.05,
                         key=seed(key, float(p.default)), help=p.help, disabled=disabled)
    return st.number_input(label, float(p.min), float(p.max), key=seed(key, float(p.default)),
                           help=p.help, format="%g", disabled=disabled)


def technique_picker(dataset_kind: str, runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Render one switch per technique that suits this data; return the switched-on ones."""
    st.markdown("**Techniques**: switch any on to see what it buys and what it costs.")
    chosen: dict[str, dict[str, Any]] = {}
    for cls in all_techniques():
        if dataset_kind not in cls.kinds:
            continue
        first = _control(cls.params[0]) if cls.params else cls.name
        reason = cls.unavailable()  # e.g. mixed precision without a GPU
        on = technique_fixed_on(cls.name) if hidden(first) else st.toggle(
            cls.title, key=f"train_tech_{cls.name}",
            help=technique_help(cls.name, f"{reason} {cls.description}" if reason
                                else cls.description),
            disabled=locked(first) or bool(reason))
        if on and hidden(first):
            chosen[cls.name] = {p.name: _param_widget(cls.name, p, runs, dataset_kind)
                                for p in cls.params}
        elif on:
            with st.container(border=True):
                st.caption(cls.description)
                chosen[cls.name] = {p.name: _param_widget(cls.name, p, runs, dataset_kind)
                                    for p in cls.params}
                for other in chosen:  # what two techniques mean together, said by either
                    note = together_note(cls, technique_class(other))
                    if other != cls.name and note:
                        st.caption(note)
    return chosen
