"""Starting values for Train's controls, given the supported way."""
from __future__ import annotations

from typing import Any

import streamlit as st


def seed(key: str, default: Any) -> str:
    """Give a control its starting value through session state, only when it has none, and
    return its key: the control is then drawn without a default of its own. A control given
    both (a preset wrote its key and the call passes a default) makes Streamlit log 'created
    with a default value but also had its value set via the Session State API'."""
    if key not in st.session_state:
        st.session_state[key] = default
    return key
