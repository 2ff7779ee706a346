"""Presets for the Train page: from the URL (a shared or workshop link) or from another page
(it writes `{"values": {...}, "lock": [...], "hide": [...]}` into session state under
`components.base.keys.train.PRESET`, then calls `st.switch_page("pages/train.py")`), and the
URL kept in step with the controls.

Widget values are preset by writing their session-state keys before the widgets are drawn;
a setting the preset leaves out goes back to the control's default. `lock` shows a control
disabled, `hide` leaves it out (its value then comes from the preset or the default).

A workshop participant's Train always holds the room's lesson: on every route in (the
sidebar, a link, a reload) its values, locks and hidden controls are laid over whatever the
link or preset said, and only the presenter or someone outside a workshop may unlock.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.base.entry import entry_taken, page_entered
from components.base.keys import train as keys
from components.experiments.workshop_session import IDENTITY_PARAMS, current
from playground.common import escape
from playground.data.catalog import dataset_info
from playground.experiments.links import (
    VIEW,
    config_to_query,
    controls,
    query_to_values,
    train_url,
    with_model,
)
from playground.training.config import (
    FIELDS,
    ConfigError,
    config_values,
    field_words,
    flat_names,
    make_config,
    shorthands,
)
from playground.training.techniques import technique_class

VIEW_PARAM = VIEW  # ?view=all: the link opens "All settings"


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


def apply_preset(values: dict[str, Any], lock=(), hide=(), view_given: bool = False
                 ) -> list[str]:
    """Set every Train control from flat `values`; returns problems (nothing is applied
    when the values don't make a valid run)."""
    values = with_model(values)
    try:
        config = make_config(**values)
    except ConfigError as exc:
        return exc.problems
    ss = st.session_state
    flat = config_values(config)
    nested = values.get("techniques") or {}  # settings given by name, not by shorthand
    given = set(values) | {short for (tech, param), short in flat_names().items()
                           if param in (nested.get(tech) or {})}
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
    for tech in _technique_names():  # simple mode's one setting follows the preset too
        ss.pop(keys.plain_level(tech), None)
        if (word := plain_level_of(tech, config.techniques.get(tech))) is not None:
            ss[keys.plain_level(tech)] = word
    ss[keys.DEVICE] = config.device
    if not view_given:  # the setup decides: one simple mode can't show opens "All settings"
        set_view(not fits_simple(config))
    fixed = {k: v for k, v in flat.items() if k != "techniques"}
    ss[keys.URL_RULES] = {"lock": list(lock), "hide": list(hide), "fixed": fixed,
                  "techniques": list(config.techniques)}
    return []


def _room_lesson():
    """(workshop, lesson) when this session is a participant, or the presenter who has not
    unlocked, in a workshop whose lesson fixes, locks or hides something; else None."""
    ws, _, presenter = current()
    if ws is None or presenter and st.session_state.get(keys.UNLOCKED):
        return None
    lesson = ws.lesson
    return (ws, lesson) if lesson.values or lesson.lock or lesson.hide else None


def is_participant() -> bool:
    ws, _, presenter = current()
    return ws is not None and not presenter


def _with_lesson(values: dict[str, Any], lock=(), hide=()):
    """A preset with the room's lesson laid over it (its values win; locks add up)."""
    room = _room_lesson()
    if room is None:
        return values, list(lock), list(hide)
    ws, lesson = room
    st.session_state[keys.LESSON_APPLIED] = (ws.name, ws.version)
    return ({**values, **lesson.values}, list(dict.fromkeys([*lock, *lesson.lock])),
            list(dict.fromkeys([*hide, *lesson.hide])))


def _apply(values: dict[str, Any], lock=(), hide=(), view_given: bool = False) -> list[str]:
    values, lock, hide = _with_lesson(values, lock, hide)
    problems = apply_preset(values, lock, hide, view_given)
    if problems and _room_lesson():  # the link's values broke the lesson: the lesson alone
        problems += apply_preset(*_with_lesson({}), view_given=view_given)
    return problems


def _lesson_missing() -> bool:
    """The room's lesson is not what the controls hold (a new lesson, or a session that
    came in by the sidebar, a reload or a tab where no preset was applied)."""
    room = _room_lesson()
    if room is None:
        return False
    ws, _ = room
    return st.session_state.get(keys.LESSON_APPLIED) != (ws.name, ws.version)


def take_presets() -> None:
    """Apply an in-app preset or a new link, once, and the room's lesson whenever the
    controls don't hold it; call before the Train controls."""
    ss = st.session_state
    if page_entered():
        ss.pop(keys.LAST_RUN, None)  # a banner about a run queued on an earlier visit
    preset = ss.pop(keys.PRESET, None)
    if preset:
        problems = _apply(preset.get("values", {}), preset.get("lock", ()),
                          preset.get("hide", ()), "all_settings" in preset)
        if "all_settings" in preset:
            set_view(bool(preset["all_settings"]))
        ss[keys.URL_PROBLEMS] = problems
        ss[keys.URL_WRITTEN] = None  # the URL follows the new controls
        entry_taken()
        return
    _take_link()
    if _lesson_missing():
        ss[keys.URL_PROBLEMS] = (ss.get(keys.URL_PROBLEMS) or []) + _apply({})
    entry_taken()


def set_view(all_settings: bool) -> None:
    """Show "All settings" or simple mode (before the toggle is drawn)."""
    st.session_state[keys.ALL_SETTINGS] = st.session_state[keys.ALL_SETTINGS_KEPT] = \
        all_settings


def keep_setup(values: dict[str, Any]) -> None:
    """Remember the setup drawn, so a change of view keeps it (see view_changed)."""
    st.session_state[keys.LAST_VALUES] = values


def view_changed() -> None:
    """The toggle's callback: the other view opens with the same setup, as a preset (the
    controls of the view just left are gone with their state)."""
    ss = st.session_state
    full = bool(ss.get(keys.ALL_SETTINGS))
    ss[keys.ALL_SETTINGS_KEPT] = full
    try:
        flat = config_values(make_config(**dict(ss.get(keys.LAST_VALUES) or {})))
    except ConfigError:
        return
    r = rules()
    ss[keys.PRESET] = {"values": flat, "lock": list(r.get("lock", ())),
                       "hide": list(r.get("hide", ())), "all_settings": full}


def _take_link() -> None:
    if not page_entered():
        # While the user stays on the page the controls lead and the address follows them.
        # A click's rerun can carry the address from before the last write (the browser had
        # not applied it yet); reading it back would undo the click.
        return
    query = {k: st.query_params.get_all(k)[-1] for k in st.query_params
             if k not in IDENTITY_PARAMS}
    view = query.pop(VIEW_PARAM, None)
    if not set(query) & set(controls()):
        query = {}  # nothing for Train (e.g. another page's ?id= carried along)
    ss = st.session_state
    if not query and ss.get(keys.URL_WRITTEN) and keys.DATASET not in ss:
        # Back from another page: Streamlit dropped the controls' state, the URL it had
        # when we left still holds the whole setup.
        query, st.session_state[keys.URL_WRITTEN] = st.session_state[keys.URL_WRITTEN], None
    if view is not None:
        set_view(view == "all")
    if query and query != st.session_state.get(keys.URL_WRITTEN):
        values, problems = query_to_values(query)
        lock, hide = values.pop("lock", []), values.pop("hide", [])
        problems += _apply(values, lock, hide, view is not None) if values else []
        st.session_state[keys.URL_PROBLEMS] = problems
        st.session_state[keys.URL_WRITTEN] = query


def show_problems() -> None:
    if clone_of := st.session_state.pop(keys.CLONE_OF, None):
        st.info(f"Set up like run **{escape.md(clone_of)}**. Change one setting and press "
                "**Train**: Compare will then show what that one change did.")
    problems = st.session_state.get(keys.URL_PROBLEMS)
    if problems:  # they quote what the link said: plain text, never Markdown
        st.warning("Some settings from the link could not be used and were left at their "
                   "defaults:\n\n" + "\n".join(f"- {escape.md(p)}" for p in problems))


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
    """Say that a lesson fixed some controls; offer to unlock them to anyone but a
    workshop participant (the room's lesson holds for them)."""
    r = rules()
    if r.get("lock") or r.get("hide"):
        room = _room_lesson() is not None
        fixed = ", ".join(field_title(n) for n in r.get("lock", ()))
        st.info(("The workshop's lesson" if room else "This link set up a lesson")
                + ": some controls are fixed" + (f" ({fixed})" if fixed else "")
                + (" and some are hidden" if r.get("hide") else "") + ".")
        if not is_participant() and st.button("Unlock every control", key="train_unlock"):
            st.session_state.pop(keys.URL_RULES, None)
            st.session_state[keys.UNLOCKED] = True
            st.rerun()


def field_title(name: str) -> str:
    """A control's name in words, by its flat name (a field or a technique shorthand)."""
    if name in shorthands():
        tech, param = shorthands()[name]
        cls = technique_class(tech)
        return f"{cls.title}: {next(p for p in cls.params if p.name == param).title().lower()}"
    return field_words(name)


def sync_url(values: dict[str, Any]) -> str | None:
    """Write the controls' setup into the URL (when it is a valid run); return the query."""
    try:
        query = config_to_query(values, rules().get("lock", ()), rules().get("hide", ()))
    except ConfigError:
        return None
    current = {k: st.query_params.get_all(k)[-1] for k in st.query_params}
    # A workshop participant's ?ws=&token= stay: a reload is still them, in the room.
    query_here = query | {k: current[k] for k in IDENTITY_PARAMS if k in current}
    if st.session_state.get(keys.ALL_SETTINGS_KEPT):
        query_here[VIEW_PARAM] = "all"
    if current != query_here:
        st.query_params.from_dict(query_here)
    st.session_state[keys.URL_WRITTEN] = query
    return query


def plain_level_of(name: str, settings: dict[str, Any] | None) -> str | None:
    """The plain level (its words) these settings of technique `name` are, or None."""
    cls = technique_class(name)
    if settings is None or cls.plain is None:
        return None
    defaults = {p.name: p.default for p in cls.params}
    room = {p.name: settings.get(p.name, p.default) for p in cls.params
            if not p.participant_sets}  # the room's (δ), not a choice: simple keeps it
    return next((word for word, lv in cls.plain.levels
                 if {**defaults, **lv, **room} == settings), None)


def fits_simple(config) -> bool:
    """Whether simple mode shows this setup whole: its data and model, each switched-on
    technique at one of its plain levels, every other setting as it comes."""
    techniques = {}
    for name, settings in config.techniques.items():
        word = plain_level_of(name, settings)
        if word is None:
            return False
        cls = technique_class(name)
        techniques[name] = {**cls.plain.settings(word),
                            **{p.name: settings[p.name] for p in cls.params
                               if not p.participant_sets}}
    try:
        simple = make_config(dataset=config.dataset, model=config.model, device=config.device,
                             sensitive=config.sensitive, techniques=techniques)
    except ConfigError:
        return False
    return simple == config


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
        lock = st.multiselect("Show but fix", names, key="train_share_lock",
                              format_func=field_title)
        hide = st.multiselect("Hide", names, key="train_share_hide", format_func=field_title)
        if lock or hide:
            st.code(train_url(values, lock, hide, base=_base_url()), language=None,
                    wrap_lines=True)
