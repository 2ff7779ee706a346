"""The controls that describe a run. Offered controls depend on the dataset and model."""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.shared import get_store
from components.technique_picker import technique_picker
from models import all_model_infos, model_info
from playground.config import RunConfig
from playground.datasets import all_dataset_infos, dataset_info

LR_CHOICES = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BATCH_CHOICES = [16, 32, 64, 128, 256, 512]
FIELDS = RunConfig.model_fields


def _help(name: str, extra: str = "") -> str:
    return f"{FIELDS[name].description} {extra}".strip()


def run_settings() -> dict[str, Any]:
    """Render the settings; return the raw values (validated later by make_config)."""
    infos = {d.name: d for d in all_dataset_infos()}
    dataset = st.selectbox(
        "Dataset", list(infos), key="train_dataset", format_func=lambda n: infos[n].title,
        help="The examples the model learns from. All ship with the app; nothing is downloaded.",
    )
    ds = dataset_info(dataset)
    st.caption(ds.description)

    fits = [m for m in all_model_infos() if ds.kind in m.kinds]
    names = [m.name for m in fits]
    default_model = "cnn" if "cnn" in names else "mlp"
    model = st.selectbox(
        "Model", names, index=names.index(default_model), key=f"train_model_{ds.kind}",
        format_func=lambda n: model_info(n).title,
        help="Only models that suit this kind of data are offered (no image network on a table).",
    )
    info = model_info(model)
    st.caption(info.description)

    values: dict[str, Any] = {"dataset": dataset, "model": model}
    left, right = st.columns(2)
    with left:
        values["epochs"] = st.slider(
            "Epochs", 1, 50, 10, key="train_epochs",
            help=_help("epochs", "More passes learn more, and take longer, and can overfit."))
        values["lr"] = st.select_slider(
            "Learning rate", LR_CHOICES, key=f"train_lr_{model}",
            value=min(LR_CHOICES, key=lambda v: abs(v - info.default_lr)),
            help=_help("lr", "Too small learns slowly; too large jumps around."))
    with right:
        values["batch_size"] = st.select_slider(
            "Batch size", BATCH_CHOICES, value=64, key="train_batch_size",
            help=_help("batch_size"))
        values["seed"] = st.number_input(
            "Seed", 0, 2**31 - 1, 0, key="train_seed",
            help=_help("seed", "The same seed and settings give the same run."))
        if info.uses_width_depth:
            values["width"] = st.slider("Width", 8, 256, 64, 8, key=f"train_width_{model}",
                                        help=_help("width"))
            values["depth"] = st.slider("Depth", 1, 6, 2, key=f"train_depth_{model}",
                                        help=_help("depth"))
        if ds.has_noise:
            values["noise"] = st.slider(
                "Noise", 0.0, 1.0, 0.2, 0.05, key="train_noise",
                help=_help("noise", "More noise blurs the shapes and makes them harder."))
    teachers = [r for r in get_store().list_runs(statuses=("finished",))
                if r.config.dataset == dataset]
    values["techniques"] = technique_picker(ds.kind, teachers)
    return values
