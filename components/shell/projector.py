"""Projector view: larger type and high contrast for a room, switched on in the sidebar.

The switch lives in the sidebar every page draws, so it holds across pages; a link with
`?projector=1` switches it on (a presenter's bookmark).
"""
from __future__ import annotations

import streamlit as st

from components.base.keys import shell as shell_keys

KEY = shell_keys.PROJECTOR

# Streamlit's own classes change between versions; these selectors use its stable
# data-testid attributes and plain elements.
CSS = """
<style>
html, body, [data-testid="stAppViewContainer"], [data-testid="stSidebar"] {
  font-size: 22px !important;
}
[data-testid="stAppViewContainer"], [data-testid="stHeader"], [data-testid="stMain"] {
  background: #ffffff !important; color: #000000 !important;
}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p, label, td, th {
  font-size: 1.15rem !important; color: #000000 !important; line-height: 1.45 !important;
}
h1 { font-size: 3rem !important; color: #000000 !important; }
h2 { font-size: 2.3rem !important; color: #000000 !important; }
h3 { font-size: 1.8rem !important; color: #000000 !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; color: #000000 !important; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
a, a:visited { color: #0033cc !important; text-decoration: underline !important; }
[data-testid="stVerticalBlockBorderWrapper"] { border: 2px solid #000000 !important; }
button[kind="primary"], button[kind="primaryFormSubmit"] {
  background: #003399 !important; border-color: #003399 !important;
}
button[kind="primary"] *, button[kind="primaryFormSubmit"] * { color: #ffffff !important; }
[data-testid="stSidebar"] { background: #f0f0f0 !important; }
[data-testid="stSidebar"] * { color: #000000 !important; }
</style>
"""


def projector_on() -> bool:
    """Whether this screen is (or is about to be) in projector view: then nothing private,
    such as a presenter key or a personal link, is drawn on it."""
    return bool(st.session_state.get(KEY)) or st.query_params.get("projector") in ("1", "true")


def projector_toggle() -> None:
    """The sidebar switch; when on, style the whole page for a projector."""
    if KEY not in st.session_state and st.query_params.get("projector") in ("1", "true"):
        st.session_state[KEY] = True
    on = st.sidebar.toggle("Projector view", key=KEY,
                           help="Larger type and high contrast, for a room and a projector.")
    if on:
        st.markdown(CSS, unsafe_allow_html=True)
