"""Train's simple mode: the data, the model in words, and the trade-offs as plain choices.

Each choice is a technique's own declaration (`Technique.plain`): its goal ("Protect
people's privacy"), one question and its levels, each level the technique's settings. The
switches share their keys with "All settings" (train_tech_<name>), so a choice made here is
the same switch there.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.base.keys import train as keys
from components.training.run_settings import dataset_control, sensitive_control
from components.training.seeding import seed
from components.training.url_presets import fixed_value, hidden, locked, technique_fixed_on
from models.base import all_model_infos, model_info
from playground.common import escape
from playground.experiments.links import first_model
from playground.teaching.glossary import control_help, technique_help
from playground.training.config import FIELDS
from playground.training.techniques import all_techniques, plain_choices

# What each model is, said to someone who has never trained one (others: their title).
MODEL_WORDS = {
    "cnn": ("a picture network", "it looks for strokes and shapes wherever they are"),
    "mlp": ("a small network", "it learns how the inputs combine into the answer"),
    "logreg": ("a simple scorer", "one weighted sum per answer: quick, easy to read"),
    "vit": ("a tiny transformer", "the design behind today's large models, in miniature"),
    "bow": ("a word counter", "one weight per word for each answer: quick, blind to word order"),
    "bow_net": ("a word counter with a small network",
                "it learns how the words combine, still blind to their order"),
    "bert": ("a tiny BERT", "it reads the words in order, like today's language models"),
}


def model_in_words(name: str) -> str:
    return MODEL_WORDS.get(name, (model_info(name).title,))[0]


def _model(kind: str) -> str:
    """The model picker, in words; the first that fits the data until one is chosen."""
    names = [m.name for m in all_model_infos() if kind in m.kinds]
    first = first_model(names)
    if hidden("model"):
        return fixed_value("model", first)
    key = f"train_model_{kind}"  # the same control as in "All settings"
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    model = st.selectbox("The model", names, key=seed(key, first), format_func=model_in_words,
                         disabled=locked("model"),
                         help=control_help("model", "Only models that suit this data."))
    if model in MODEL_WORDS:
        st.caption(escape.md(MODEL_WORDS[model][1].capitalize() + "."))
    return model


def _choice(cls) -> dict[str, Any] | None:
    """One trade-off: a switch and, when on, its one plain setting; its settings or None."""
    plain = cls.plain
    flags = [(p.flag or "").lstrip("-").replace("-", "_") for p in cls.params]
    first = flags[0] if flags else cls.name
    if hidden(first):  # the lesson decided it: on or off, at its settings
        if not technique_fixed_on(cls.name):
            return None
        return {p.name: fixed_value(f, p.default) for p, f in zip(cls.params, flags, strict=True)}
    on = st.toggle(plain.goal, key=keys.technique_switch(cls.name), disabled=locked(first),
                   help=technique_help(cls.name, f"{cls.title}: {cls.description}"))
    if not on:
        return None
    words = [w for w, _ in plain.levels]
    level_key = keys.plain_level(cls.name)
    if st.session_state.get(level_key) not in words:
        st.session_state.pop(level_key, None)
    level = st.radio(plain.question, words, key=seed(level_key, words[plain.default]),
                     horizontal=True, disabled=locked(first))
    if plain.cost:
        st.caption(plain.cost)
    settings = plain.settings(level)
    for p, flag in zip(cls.params, flags, strict=True):
        if not p.participant_sets:  # the room's value (a lesson's δ), else the data's
            settings[p.name] = fixed_value(flag, p.default)
    return settings


def simple_settings() -> dict[str, Any]:
    """Draw simple mode; return the raw values of the run it describes."""
    ds = dataset_control()
    model = _model(ds.kind)
    values: dict[str, Any] = {"dataset": ds.name, "model": model}
    # Anything a lesson fixed or hid keeps its value; the rest is as it comes.
    for name in FIELDS:
        if name not in values and (hidden(name) or locked(name)):
            values[name] = fixed_value(name, None)
    values = {k: v for k, v in values.items() if v is not None}
    if ds.sensitive_columns:
        values["sensitive"] = sensitive_control(ds)
    has_groups = bool(ds.sensitive_columns or ds.default_sensitive)
    st.markdown("**What matters to you?** Switch on any trade-off; each has one setting.")
    techniques = {}
    offered = plain_choices(ds.kind, has_groups)
    for cls in offered:
        settings = _choice(cls)
        if settings is not None:
            techniques[cls.name] = settings
    for cls in all_techniques():  # one a lesson switched on and hid, without a plain choice
        flags = [(p.flag or "").lstrip("-").replace("-", "_") for p in cls.params]
        if cls not in offered and technique_fixed_on(cls.name) and hidden(
                flags[0] if flags else cls.name):
            techniques[cls.name] = {p.name: fixed_value(f, p.default)
                                    for p, f in zip(cls.params, flags, strict=True)}
    values["techniques"] = techniques
    if st.session_state.get(keys.DEVICE, "auto") != "auto":
        values["device"] = st.session_state[keys.DEVICE]
    return values
