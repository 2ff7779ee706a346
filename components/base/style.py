"""The app's one style sheet, drawn once per page run by app.py.

Captions: Streamlit draws them at 60 % opacity, which puts grey text (and links inside
captions) below WCAG's 4.5:1 contrast on white and on the sidebar's grey. Full opacity in a
darker grey keeps them quieter than body text and readable (about 6:1). The chosen option
of a segmented control (Runs' "My runs / Stories / Everything") is drawn in the theme's red
on a pale red, about 3:1: a darker red reads at about 6:1.
tests/test_browser_a11y.py checks every page with axe-core.
"""
from __future__ import annotations

import streamlit as st

CSS = """<style>
[data-testid="stCaptionContainer"] { opacity: 1; color: #565963; }
button[data-selected="true"] [data-testid="stMarkdownContainer"] p { color: #a3111f; }
</style>"""


def apply_style() -> None:
    st.html(CSS)
