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


# -- the projector page: the room's boards, nothing else ------------------------------------

CYCLE_SECONDS = 10.0  # each board stays this long; the page reads the store again each time
ROWS = 10  # at most this many people per board (8 fit at 1280×720 with room to spare)

PAGE_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stAppViewContainer"], [data-testid="stMain"] {
  background: #ffffff !important; color: #000000 !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important;
  padding: 1rem 2rem 0 2rem !important; }
.pj-title { font-size: 40px; font-weight: 700; line-height: 1.15; margin: 0; color: #000; }
.pj-sub { font-size: 20px; color: #000; margin: 4px 0 8px 0; }
.pj-board { width: 100%; border-collapse: collapse; table-layout: auto; color: #000; }
.pj-board th { font-size: 22px; text-align: left; border-bottom: 3px solid #000;
  padding: 4px 12px; white-space: nowrap; }
.pj-board td { font-size: 28px; padding: 5px 12px; border-bottom: 1px solid #444;
  vertical-align: top; line-height: 1.2; }
.pj-board td.pj-place { font-weight: 700; width: 2.2em; white-space: nowrap; }
.pj-board td.pj-who, .pj-board td.pj-score, .pj-board td.pj-privacy {
  white-space: nowrap; font-weight: 700; }
.pj-board td.pj-run { font-size: 21px; overflow-wrap: anywhere; }
.pj-board tr.pj-removed td { font-style: italic; font-weight: 400; color: #333; }
.pj-empty { font-size: 28px; color: #000; }
.pj-join { font-size: 18px; overflow-wrap: anywhere; color: #000; }
</style>
"""


def projector_page_style() -> None:
    """The projector page fills the screen: no sidebar or header, black on white."""
    st.html(PAGE_CSS)
