"""Real browser: the two attack stories ("Does privacy stop an attacker?" and "Robust or
accurate?") both finish from a fresh server. Both are started up front on the Stories page
(one server, one background worker, four runs), then each shows its walkthrough with no
exception on the page. Screenshots land in test-artifacts/ for a look."""
from __future__ import annotations

from pathlib import Path

import pytest

from playground.runs.store import Store
from tests.browser_support import ARTIFACTS, settled

SLOW = 540_000  # ms: four runs train one after another on a shared 2-core machine
WAIT = 60_000  # ms: a fresh server's first page, a rerun on a busy machine

ATTACKER, ROBUST = "Does privacy stop an attacker?", "Robust or accurate?"


def _open(page, key: str, title: str) -> None:
    """Open a story's card; a click that lands while the page is being redrawn (its live
    progress polls) can be dropped, so try again once."""
    from playwright.sync_api import expect

    heading = page.get_by_role("heading", name=title)
    for attempt in range(2):
        page.locator(f".st-key-stories_open_{key} button").click()
        try:
            expect(heading).to_be_visible(timeout=WAIT // 2)
            return
        except AssertionError:
            if attempt:
                raise


def _run(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Run this story").click()
    # Its runs are listed in line (or training) at once.
    expect(page.get_by_text("The runs train one after another")).to_be_visible(timeout=WAIT)


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def _shot(page, name: str, title: str) -> None:
    """The story from its heading down: Streamlit scrolls inside the page, so a full-page
    screenshot shows only the window; a tall window shows the whole walkthrough."""
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.get_by_role("heading", name=title).scroll_into_view_if_needed()
    settled(page)  # the charts have redrawn at the new width
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size({"width": 1400, "height": 1000})


def _finished(page, text: str, title: str, shot: str) -> None:
    from playwright.sync_api import expect

    try:
        expect(page.get_by_text(text)).to_be_visible(timeout=SLOW)
        expect(page.get_by_text("Every number above comes from the runs")).to_be_visible(
            timeout=WAIT)
        expect(page.locator(".vega-embed").first).to_be_visible(timeout=WAIT)
    finally:
        _shot(page, shot, title)
    _no_exception(page)


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"PLAYGROUND_AUDITS": "on"}  # the server and its workers run the attack audits


def test_both_attack_stories_finish_from_a_fresh_server(app_url, server_home: Path, new_page):
    from playwright.sync_api import expect

    page = new_page(timeout=WAIT)
    page.goto(app_url + "/stories")  # not "/": Home would queue its own story
    expect(page.get_by_role("heading", name="Stories", exact=True)).to_be_visible(
        timeout=WAIT)

    # Both stories are queued before either is watched: one wait for all four runs.
    _open(page, "attacker", ATTACKER)
    _run(page)
    _open(page, "robust", ROBUST)
    _run(page)
    expect(page.get_by_text("Adversarially trained", exact=True)).to_be_visible()
    _shot(page, "story-robust-live.png", ROBUST)
    _no_exception(page)

    # The attacker story's runs are first in line, so by now both have finished.
    _finished(page, "Trained normally, the network reads", ROBUST, "story-robust.png")
    _open(page, "attacker", ATTACKER)
    _finished(page, "Without privacy noise the network reads", ATTACKER,
              "story-attacker.png")
    expect(page.get_by_text("no attacker can be right more than")).to_be_visible()

    runs = Store(server_home).list_runs()
    # Four runs, not five: the adversarial run's plain twin is the robust story's own step.
    assert len(runs) == 4 and {r.status for r in runs} == {"finished"}
    assert sorted(sorted(r.config.techniques) for r in runs) == [
        [], [], ["adversarial_training"], ["dp"]]
