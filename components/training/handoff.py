"""Opening Train from another page, set up: the one supported way for a page to hand a
setup to Train (Your data's "Save it and train on it", a "try this" button, a clone).

The setup travels as Train's preset (components.base.keys.train.PRESET), which Train applies
before any of its controls exist, so no control ever gets both a default and a value set
through session state; a workshop participant's lesson is laid over it there too.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from components.base.keys import train as keys

TRAIN_PAGE = "pages/train.py"


def train_preset(dataset: str, model: str | None = None,
                 techniques: dict[str, dict[str, Any]] | None = None, *,
                 all_settings: bool | None = None, **values: Any) -> dict[str, Any]:
    """The preset that `open_train_with` hands over (without switching page)."""
    given: dict[str, Any] = {"dataset": dataset, **values}
    if model:
        given["model"] = model
    if techniques:
        given["techniques"] = {name: dict(s) for name, s in techniques.items()}
    preset: dict[str, Any] = {"values": given, "lock": [], "hide": []}
    if all_settings is not None:
        preset["all_settings"] = all_settings
    return preset


def open_train_with(dataset: str, model: str | None = None,
                    techniques: dict[str, dict[str, Any]] | None = None, *,
                    autostart: bool = False, all_settings: bool | None = None,
                    **values: Any) -> None:
    """Switch to Train set up with `dataset` (and `model`, technique settings by name such
    as {"dp": {"target_epsilon": 3.0}}, any other config field as a keyword). `autostart`
    queues the run as soon as Train has drawn it (with the same checks as its button);
    `all_settings` picks the view (None: simple mode when the setup fits it). Does not
    return (st.switch_page)."""
    st.session_state[keys.PRESET] = train_preset(dataset, model, techniques,
                                                 all_settings=all_settings, **values)
    st.session_state[keys.AUTOSTART] = autostart
    st.switch_page(TRAIN_PAGE)
