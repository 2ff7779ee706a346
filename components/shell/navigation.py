"""The app's pages, declared once: app.py routes through them, the sidebar links to them.

A folder named pages/ beside app.py makes Streamlit start every fresh server in its legacy
multipage mode, whose own page list shows the file names ("app", "compare", ...) until
app.py's st.navigation runs. .streamlit/config.toml hides Streamlit's page list
(client.showSidebarNavigation = false), so that list never shows, and the sidebar draws
this one instead, with the pages' titles, from the first paint on.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"

# (file in pages/, title, icon, url path); the first is Home, the default page at "/".
PAGES = (
    ("home.py", "Home", "🏠", ""),
    ("train.py", "Train", "🏋️", "train"),
    ("stories.py", "Stories", "📚", "stories"),
    ("runs.py", "Runs", "📋", "runs"),
    ("compare.py", "Compare", "⚖️", "compare"),
    ("sweeps.py", "Sweeps", "📈", "sweeps"),
    ("explain.py", "Explain", "🔍", "explain"),
    ("your_data.py", "Your data", "📤", "your_data"),
    ("learn.py", "Learn", "📖", "learn"),
    ("workshop.py", "Workshop", "🏆", "workshop"),
    ("projector.py", "Projector", "📽️", "projector"),
)
# Pages with an address but no sidebar link: the projector page is opened from the Workshop
# page, on the room's screen.
UNLISTED = {"projector"}
TITLES = tuple(title for _, title, _, url in PAGES if url not in UNLISTED)


def declare_pages(links: bool = True):
    """Declare the app's pages to Streamlit (st.navigation) and return the page this URL
    asks for; with `links`, draw them at the top of the sidebar. Absolute paths, so a page
    script run alone (Streamlit's legacy mode, AppTest) can declare them too."""
    pages = [st.Page(PAGES_DIR / name, title=title, icon=icon, url_path=url or None,
                     default=not url) for name, title, icon, url in PAGES]
    # "hidden": Streamlit's own list stays off; the links below are the app's list.
    navigation = st.navigation(pages, position="hidden")
    if links:
        with st.sidebar:
            for page, (_, title, icon, url) in zip(pages, PAGES, strict=True):
                if url not in UNLISTED:
                    st.page_link(page, label=title, icon=icon, width="stretch")
    return navigation
