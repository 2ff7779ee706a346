"""Real browser, fresh servers: the first paint of Home lists the pages by title in the
sidebar and never Streamlit's file-name list; a deep link is drawn inside the app's shell.

Each test starts its own server: what they check happens only on a server's first visit.
"""
from __future__ import annotations

from pathlib import Path

from components.shell.navigation import PAGES, TITLES
from tests.browser_support import ARTIFACTS, streamlit_server

WAIT = 60_000  # ms: a fresh server's first page on a busy machine

# What Streamlit's legacy list would show: a page per file, named after it ("app", ...).
FILE_NAMES = {"app", *(name.removesuffix(".py") for name, *_ in PAGES),
              *(name.removesuffix(".py").replace("_", " ") for name, *_ in PAGES)}

# From the first DOM paint on, note the text of every navigation entry in the sidebar
# (Streamlit's own list or the app's links), however briefly it is there.
RECORD_NAV = """
window.__nav = [];
const note = () => {
  for (const a of document.querySelectorAll(
      '[data-testid=stSidebar] a, [data-testid=stSidebarNav] *')) {
    const text = (a.innerText || '').trim();
    if (text && !window.__nav.includes(text)) window.__nav.push(text);
  }
};
new MutationObserver(note).observe(document, {childList: true, subtree: true,
                                              characterData: true});
"""


def test_first_paint_of_home_lists_titles_never_file_names(tmp_path: Path, new_page):
    from playwright.sync_api import expect

    with streamlit_server(tmp_path / "home", {"PLAYGROUND_WORKERS": "0"}) as url:
        page = new_page()
        page.add_init_script(RECORD_NAV)
        page.goto(url)
        sidebar = page.locator("[data-testid=stSidebar]")
        for title in TITLES:
            expect(sidebar.get_by_role("link", name=title, exact=False).first).to_be_visible(
                timeout=WAIT)
        page.screenshot(path=str(ARTIFACTS / "first-paint.png"))
        seen = page.evaluate("window.__nav")
    labels = {line.strip() for text in seen for line in text.splitlines() if line.strip()}
    assert set(TITLES) <= labels, seen
    assert not labels & FILE_NAMES, f"file names in the sidebar: {labels & FILE_NAMES}"


def test_a_deep_link_on_a_fresh_server_has_the_apps_sidebar(tmp_path: Path, new_page):
    from playwright.sync_api import expect

    with streamlit_server(tmp_path / "home", {"PLAYGROUND_WORKERS": "0"}) as url:
        page = new_page()
        page.add_init_script(RECORD_NAV)
        page.goto(url + "/runs")
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible(
            timeout=WAIT)
        sidebar = page.locator("[data-testid=stSidebar]")
        expect(sidebar).to_contain_text("Trains on", timeout=WAIT)  # the shell's sidebar
        for title in TITLES:
            expect(sidebar.get_by_role("link", name=title, exact=False).first).to_be_visible()
        seen = page.evaluate("window.__nav")
    labels = {line.strip() for text in seen for line in text.splitlines() if line.strip()}
    assert not labels & FILE_NAMES, f"file names in the sidebar: {labels & FILE_NAMES}"
