"""The controls that describe a run. Offered controls depend on the dataset and model."""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.base.keys import train as keys
from components.base.services import get_store
from components.training.seeding import seed
from components.training.technique_picker import technique_picker
from components.training.url_presets import fixed_value, hidden, locked
from models.base import all_model_infos, model_info
from playground.common import escape
from playground.data.catalog import all_dataset_infos, dataset_info, uploaded_dataset_infos
from playground.experiments.links import first_model
from playground.teaching.glossary import control_help
from playground.training import audits
from playground.training.config import RunConfig

LR_CHOICES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BATCH_CHOICES = [16, 32, 64, 128, 256, 512]
FIELDS = RunConfig.model_fields
ROBUSTNESS_KINDS = audits.ROBUSTNESS_KINDS


def _help(name: str, extra: str = "") -> str:
    return control_help(name, f"{FIELDS[name].description} {extra}".strip())  # + glossary


def _with(choices: list, key: str) -> list:
    """The choices plus a preset value that is not among them (a link may carry any)."""
    value = st.session_state.get(key)
    return sorted(set(choices) | {value}) if value is not None else choices


def sensitive_control(ds) -> str:
    """Which column names each example's group ("": the dataset's own default)."""
    options = [""] + [c for c in ds.sensitive_columns if c != ds.default_sensitive]
    if st.session_state.get(keys.SENSITIVE) not in options:  # a link's or another set's
        st.session_state.pop(keys.SENSITIVE, None)
    if hidden("sensitive"):
        return fixed_value("sensitive", "")
    own = ds.default_sensitive
    return st.selectbox(
        "Sensitive attribute (fairness check)", options, key=keys.SENSITIVE,
        format_func=lambda c: c or (f"{own} (this dataset's own)" if own else "none"),
        disabled=locked("sensitive"), help=_help(
            "sensitive", "When the run ends, its test decisions are compared group by group "
            "(fairlearn): accuracy, approval rate and error rates."))


def dataset_control():
    """The dataset picker and its description; returns the chosen dataset's info."""
    infos = {d.name: d for d in all_dataset_infos() + uploaded_dataset_infos()}
    if st.session_state.get(keys.DATASET) not in infos:  # e.g. an upload deleted since
        st.session_state.pop(keys.DATASET, None)
    dataset = fixed_value("dataset", list(infos)[0]) if hidden("dataset") else st.selectbox(
        "Dataset", list(infos), key=keys.DATASET, format_func=lambda n: infos[n].title,
        help=control_help("dataset", "The examples the model learns from: built in (nothing "
                          "is downloaded) or your own, from the Your data page."),
        disabled=locked("dataset"),
    )
    ds = dataset_info(dataset)
    st.caption(escape.md(ds.description))
    return ds


def run_settings() -> dict[str, Any]:
    """Render the settings; return the raw values (validated later by make_config)."""
    ds = dataset_control()
    dataset = ds.name

    fits = [m for m in all_model_infos() if ds.kind in m.kinds]
    names = [m.name for m in fits]
    default_model = first_model(names)
    model_key = f"train_model_{ds.kind}"
    if st.session_state.get(model_key) not in names:
        st.session_state.pop(model_key, None)
    model = fixed_value("model", default_model) if hidden("model") else st.selectbox(
        "Model", names, key=seed(model_key, default_model),
        format_func=lambda n: model_info(n).title,
        help=control_help("model", "Only models that suit this kind of data are offered (no "
                          "image network on a table)."),
        disabled=locked("model"),
    )
    info = model_info(model)
    st.caption(info.description)

    values: dict[str, Any] = {"dataset": dataset, "model": model}
    left, right = st.columns(2)
    with left:
        values["epochs"] = fixed_value("epochs", 10) if hidden("epochs") else st.slider(
            "Epochs", 1, max(50, st.session_state.get(keys.EPOCHS, 0)),
            key=seed(keys.EPOCHS, 10), disabled=locked("epochs"),
            help=_help("epochs", "More passes learn more, and take longer, and can overfit."))
        lr_default = min(LR_CHOICES, key=lambda v: abs(v - info.default_lr))
        values["lr"] = fixed_value("lr", lr_default) if hidden("lr") else st.select_slider(
            "Learning rate", _with(LR_CHOICES, f"train_lr_{model}"),
            key=seed(f"train_lr_{model}", lr_default), disabled=locked("lr"),
            help=_help("lr", "Too small learns slowly; too large jumps around."))
    with right:
        values["batch_size"] = fixed_value("batch_size", 64) if hidden("batch_size") else \
            st.select_slider("Batch size", _with(BATCH_CHOICES, "train_batch_size"),
                             key=seed("train_batch_size", 64), help=_help("batch_size"),
                             disabled=locked("batch_size"))
        values["seed"] = fixed_value("seed", 0) if hidden("seed") else st.number_input(
            "Seed", 0, 2**31 - 1, key=seed("train_seed", 0), disabled=locked("seed"),
            help=_help("seed", "The same seed and settings give the same run."))
        if info.uses_width_depth:
            w_key, d_key = f"train_width_{model}", f"train_depth_{model}"
            values["width"] = fixed_value("width", 64) if hidden("width") else st.slider(
                "Width", 4, max(256, st.session_state.get(w_key, 0)), step=4,
                key=seed(w_key, 64),
                help=_help("width"), disabled=locked("width"))
            values["depth"] = fixed_value("depth", 2) if hidden("depth") else st.slider(
                "Depth", 1, max(6, st.session_state.get(d_key, 0)), key=seed(d_key, 2),
                help=_help("depth"), disabled=locked("depth"))
        if ds.has_noise:
            values["noise"] = fixed_value("noise", 0.2) if hidden("noise") else st.slider(
                "Noise", 0.0, 1.0, step=0.05, key=seed("train_noise", 0.2),
                disabled=locked("noise"),
                help=_help("noise", "More noise blurs the shapes and makes them harder."))
        if "train_fraction" in FIELDS:
            values["train_fraction"] = fixed_value("train_fraction", 1.0) if hidden(
                "train_fraction") else st.slider(
                "Share of training data", 0.05, 1.0, step=0.05,
                key=seed("train_train_fraction", 1.0),
                disabled=locked("train_fraction"), help=_help("train_fraction"))
        if ds.kind in ROBUSTNESS_KINDS:  # every finished run is attacked at this strength
            values["attack_strength"] = fixed_value("attack_strength", 0.1) if hidden(
                "attack_strength") else st.slider(
                "Attack strength (robustness check)", 0.01, 0.5, step=0.01,
                key=seed("train_attack_strength", 0.1), disabled=locked("attack_strength"),
                help=_help("attack_strength", "When the run ends, an attacker gets this much "
                           "room to fool it; the run card says how much it still got right."))
    if ds.sensitive_columns:  # tables whose columns can name groups: the fairness audit
        values["sensitive"] = sensitive_control(ds)
    values.update(class_settings())
    if st.session_state.get(keys.DEVICE, "auto") != "auto":
        values["device"] = st.session_state[keys.DEVICE]
        st.caption(f"Trains on: {escape.md(values['device'])} (set by the link)")
    teachers = [r for r in get_store().list_runs(statuses=("finished",))
                if r.config.dataset == dataset]
    values["techniques"] = technique_picker(ds.kind, teachers)
    return values


CLASS_FIELDS = ("classes", "imbalance", "rare_classes")


def class_settings() -> dict[str, Any]:
    """Which classes the run keeps and which it makes rare: folded away unless set."""
    values: dict[str, Any] = {n: fixed_value(n, FIELDS[n].default) for n in CLASS_FIELDS
                              if hidden(n)}
    shown = [n for n in CLASS_FIELDS if not hidden(n)]
    if not shown:
        return values
    ss = st.session_state
    changed = (ss.get(keys.CLASSES) or ss.get(keys.RARE_CLASSES)
               or ss.get(keys.IMBALANCE, 1.0) < 1)
    with st.expander("Which classes, and how common", expanded=bool(changed)):
        if "classes" in shown:
            values["classes"] = st.text_input(
                "Keep only these classes", key=keys.CLASSES, disabled=locked("classes"),
                placeholder="all of them", help=_help("classes", "Empty keeps every class."))
        if "imbalance" in shown:
            values["imbalance"] = st.slider(
                "How common the rare classes stay", 0.01, 1.0, step=0.01,
                key=seed(keys.IMBALANCE, 1.0), disabled=locked("imbalance"), format="%.2f",
                help=_help("imbalance", "1 leaves every class as common as it is; 0.05 keeps "
                           "5% of the rare classes' training examples."))
        if "rare_classes" in shown:
            values["rare_classes"] = st.text_input(
                "Which classes become rare", key=keys.RARE_CLASSES,
                disabled=locked("rare_classes") or values.get(
                    "imbalance", fixed_value("imbalance", 1.0)) >= 1,
                placeholder="the second half of the classes",
                help=_help("rare_classes", "Only used when the slider above is below 1."))
        st.caption("The rare classes lose training examples only: validation and test keep "
                   "all of theirs, so the scores show how well the model finds them.")
    return values
