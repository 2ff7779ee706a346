"""Real browser, the operator from another machine (a browser on the server's own machine is
the operator without a key; here that is turned off, as behind a reverse proxy): the key
presented once in the address leaves it, the browser keeps it in a cookie, and a reload or
a new tab is still the operator, while another browser stays a visitor. Also a look at the
presenter's panel with every cap in words. Screenshots land in test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from playground.common.server_settings import LOOPBACK_ENV, operator_key
from playground.experiments.workshop import Lesson, open_workspace, update_workspace
from tests.browser_support import ARTIFACTS, settled, wait_for

WAIT = 60_000  # ms: a fresh server's first page on a busy machine
SEND = "Send the whole workshop to MLflow"  # offered to the operator, not to a visitor


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {LOOPBACK_ENV: "off"}


def test_the_operator_key_is_kept_in_a_cookie_and_never_in_the_address(
        app_url: str, server_home: Path, new_page):
    from playwright.sync_api import expect

    open_workspace(server_home, "op-room", "Pat")
    key = operator_key(server_home)
    page = new_page()
    page.goto(f"{app_url}/workshop?operator={key}")
    settled(page, WAIT)
    expect(page.get_by_text(SEND).first).to_be_visible(timeout=WAIT)
    assert "operator=" not in page.url and key not in page.url
    # The cookie is written by the page's small component once it has drawn.
    assert wait_for(lambda: any(c["name"] == "playground_operator"
                                for c in page.context.cookies()), timeout=WAIT / 1000)
    kept = {c["name"]: c for c in page.context.cookies()}
    assert kept["playground_operator"]["value"] == key
    assert kept["playground_operator"]["sameSite"] == "Strict"
    page.reload()  # a new session: the cookie brings the operator back
    settled(page, WAIT)
    expect(page.get_by_text(SEND).first).to_be_visible(timeout=WAIT)
    tab = page.context.new_page()  # a new tab in the same browser
    tab.goto(f"{app_url}/workshop")
    settled(tab, WAIT)
    expect(tab.get_by_text(SEND).first).to_be_visible(timeout=WAIT)
    assert key not in tab.url
    tab.screenshot(path=str(ARTIFACTS / "operator-new-tab.png"), full_page=True)
    other = new_page()  # another browser: a visitor, offered nothing to send
    other.goto(f"{app_url}/workshop")
    settled(other, WAIT)
    expect(other.get_by_text("Open a workshop (presenter)")).to_be_visible(timeout=WAIT)
    assert other.get_by_text(SEND).count() == 0


def test_the_presenters_panel_names_every_cap_in_words(app_url: str, server_home: Path,
                                                        new_page):
    from playwright.sync_api import expect

    _, key = open_workspace(server_home, "caps-room", "Pat")
    update_workspace(server_home, "caps-room", key,
                     lesson=Lesson({"dataset": "digits", "dp_noise": 1.0},
                                   ["dataset", "dp_noise"]))
    page = new_page(1280, 1600)
    page.goto(f"{app_url}/workshop?ws=caps-room&key={key}")
    settled(page, WAIT)
    expect(page.get_by_text("Privacy noise (DP-SGD), noise (relative to the cap): 1")
           ).to_be_visible(timeout=WAIT)
    page.get_by_text("Presenter: set the lesson, limits and boards").click()
    for words in ("Runs at once", "Largest run allowed, in times the default run",
                  "Time limit per run, in minutes", "Lower the chance the privacy promise "
                  "fails (δ)", "The promise may fail with a chance of at most 1 in"):
        expect(page.get_by_text(words).first).to_be_visible(timeout=WAIT)
    assert "key=" not in page.url
    page.screenshot(path=str(ARTIFACTS / "presenter-caps.png"), full_page=True)
