"""Presets for the Train page: from the URL (a shared or workshop link) or from another page
(it writes `{"values": {...}, "lock": [...], "hide": [...]}` into session state under
`components.base.keys.train.PRESET`, then calls `st.switch_page("pages/train.py")`), and the
URL kept in step with the controls.

Widget values are preset by writing their session-state keys before the widgets are drawn;
a setting the preset leaves out goes back to the control's default. `lock` shows a control
disabled, `hide` leaves it out (its value then comes from the preset or the default).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.base.entry import entry_taken, page_entered
from components.base.keys import train as keys
from components.experiments.workshop_session import IDENTITY_PARAMS
from playground.data.catalog import dataset_info
from playground.experiments.links import (
    config_to_query,
    controls,
    query_to_values,
    train_url,
    with_model,
)
from playground.training.config import FIELDS, ConfigError, config_values, make_config, shorthands


def widget_key(name: str, dataset: str, model: str) -> str:
    """The Train page's session-state key of a config field's control."""
    if name == "model":
        return f"train_model_{dataset_info(dataset).kind}"
    if name in ("lr", "width", "depth"):
        return f"train_{name}_{model}"
    return f"train_{name}"


def param_key(tech: str, param: str) -> str:
    return f"train_{tech}_{param}"


def _technique_names() -> list[str]:
    return list(dict.fromkeys(t for t, _ in shorthands().values()))


def apply_preset(values: dict[str, Any], lock=(), hide=()) -> list[str]:
    """Set every Train control from flat `values`; returns problems (nothing is applied
    when the values don't make a valid run)."""
    values = with_model(values)
    try:
        config = make_config(**values)
    except ConfigError as exc:
        return exc.problems
    ss = st.session_state
    flat = config_values(config)
    given = set(values)
    for name in FIELDS:
        key = widget_key(name, config.dataset, config.model)
        if name in given or name in ("dataset", "model"):
            ss[key] = flat[name]
        else:
            ss.pop(key, None)  # back to the control's own default
    for tech in _technique_names():
        ss[f"train_tech_{tech}"] = tech in config.techniques
    for short, (tech, param) in shorthands().items():
        key = param_key(tech, param)
        if tech in config.techniques and short in given:
            ss[key] = config.techniques[tech][param]
        else:
            ss.pop(key, None)
    ss[keys.DEVICE] = config.device
    fixed = {k: v for k, v in flat.items() if k != "techniques"}
    ss[keys.URL_RULES] = {"lock": list(lock), "hide": list(hide), "fixed": fixed,
                  "techniques": list(config.techniques)}
    return []


def take_presets() -> None:
    """Apply an in-app preset or a new link, once; call before the Train controls."""
    preset = st.session_state.pop(keys.PRESET, None)
    if preset:
        problems = apply_preset(preset.get("values", {}), preset.get("lock", ()),
                                preset.get("hide", ()))
        st.session_state[keys.URL_PROBLEMS] = problems
        st.session_state[keys.URL_WRITTEN] = None  # the URL follows the new controls
        entry_taken()
        return
    if not page_entered():
        # While the user stays on the page the controls lead and the address follows them.
        # A click's rerun can carry the address from before the last write (the browser had
        # not applied it yet); reading it back would undo the click.
        return
    query = {k: st.query_params.get_all(k)[-1] for k in st.query_params
             if k not in IDENTITY_PARAMS}
    if not set(query) & set(controls()):
        query = {}  # nothing for Train (e.g. another page's ?id= carried along)
    ss = st.session_state
    if not query and ss.get(keys.URL_WRITTEN) and keys.DATASET not in ss:
        # Back from another page: Streamlit dropped the controls' state, the URL it had
        # when we left still holds the whole setup.
        query, st.session_state[keys.URL_WRITTEN] = st.session_state[keys.URL_WRITTEN], None
    if query and query != st.session_state.get(keys.URL_WRITTEN):
        values, problems = query_to_values(query)
        lock, hide = values.pop("lock", []), values.pop("hide", [])
        problems += apply_preset(values, lock, hide) if values else []
        st.session_state[keys.URL_PROBLEMS] = problems
        st.session_state[keys.URL_WRITTEN] = query
    entry_taken()


def show_problems() -> None:
    if clone_of := st.session_state.pop(keys.CLONE_OF, None):
        st.info(f"Set up like run **{clone_of}**. Change one setting and press **Train**: "
                "Compare will then show what that one change did.")
    problems = st.session_state.get(keys.URL_PROBLEMS)
    if problems:
        st.warning("Some settings from the link could not be used and were left at their "
                   "defaults:\n\n" + "\n".join(f"- {p}" for p in problems))


def rules() -> dict[str, Any]:
    return st.session_state.get(keys.URL_RULES) or {}


def locked(name: str) -> bool:
    return name in rules().get("lock", ())


def hidden(name: str) -> bool:
    return name in rules().get("hide", ())


def fixed_value(name: str, default: Any) -> Any:
    """A hidden control's value: from the preset, else the control's default."""
    return rules().get("fixed", {}).get(name, default)


def technique_fixed_on(tech: str) -> bool:
    return tech in rules().get("techniques", ())


def lesson_note() -> None:
    r = rules()
    if r.get("lock") or r.get("hide"):
        st.info("This link set up a lesson: some controls are fixed"
                + (f" ({', '.join(r['lock'])})" if r.get("lock") else "")
                + (" and some are hidden" if r.get("hide") else "") + ".")
        if st.button("Unlock every control", key="train_unlock"):
            st.session_state.pop(keys.URL_RULES, None)
            st.rerun()


def sync_url(values: dict[str, Any]) -> str | None:
    """Write the controls' setup into the URL (when it is a valid run); return the query."""
    try:
        query = config_to_query(values, rules().get("lock", ()), rules().get("hide", ()))
    except ConfigError:
        return None
    current = {k: st.query_params.get_all(k)[-1] for k in st.query_params}
    # A workshop participant's ?ws=&token= stay: a reload is still them, in the room.
    query_here = query | {k: current[k] for k in IDENTITY_PARAMS if k in current}
    if current != query_here:
        st.query_params.from_dict(query_here)
    st.session_state[keys.URL_WRITTEN] = query
    return query


def _base_url() -> str:
    """scheme://host[/base] of this server, as the browser sees it ('' when unknown)."""
    try:
        url = (st.context.url or "").split("?")[0].rstrip("/")
    except Exception:  # no browser (AppTest)
        return ""
    return url[: -len("/train")] if url.endswith("/train") else url


def share_box(values: dict[str, Any]) -> None:
    """The link to this setup, and a lesson link that fixes or hides chosen controls."""

    try:
        make_config(**values)
    except ConfigError:
        return
    with st.expander("Share this setup", icon="🔗"):
        st.caption("Anyone opening this link gets the Train page set up exactly like this.")
        st.code(train_url(values, base=_base_url()), language=None, wrap_lines=True)
        st.markdown("**For a lesson**: fix or hide controls, so the room changes only the "
                    "one that matters.")
        names = controls()
        lock = st.multiselect("Show but fix", names, key="train_share_lock")
        hide = st.multiselect("Hide", names, key="train_share_hide")
        if lock or hide:
            st.code(train_url(values, lock, hide, base=_base_url()), language=None,
                    wrap_lines=True)
