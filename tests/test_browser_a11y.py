"""Accessibility: axe-core (through Playwright, from the `axe-playwright-python` package,
which ships axe-core) on every page of one server with a few finished runs; no serious or
critical violation anywhere.

Each page is checked once its script has settled and its charts are drawn, at a desktop
size and, for Explain (maps and the example picker), at a phone's.
"""
from __future__ import annotations

import os

import pytest

from components.shell.navigation import PAGES
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS, settled

SERIOUS = ("serious", "critical")


def _train(store: Store, **values) -> str:
    run_id = store.enqueue(make_config(**values), status="running", pid=os.getpid())
    assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
    return run_id


def _problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for v in results.response["violations"]:
        if v["impact"] not in SERIOUS:
            continue
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"]][:5]
        found.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']}; "
                     f"e.g. {targets}")
    return found


@pytest.fixture(scope="module")
def runs(server_home):
    store = Store(server_home)
    return [_train(store, dataset="digits", model="mlp", epochs=1),
            _train(store, dataset="digits", model="mlp", epochs=1, dropout=0.3),
            _train(store, dataset="breast_cancer", model="mlp", epochs=1)]


def _visit(page, url: str, name: str) -> list[str]:
    page.goto(url)
    settled(page)
    page.wait_for_timeout(1500)  # charts draw after the script run ends
    settled(page)
    page.screenshot(path=str(ARTIFACTS / f"a11y-{name}.png"), full_page=True)
    return _problems(page)


def test_no_page_has_a_serious_or_critical_accessibility_violation(runs, app_url, new_page):
    page = new_page()
    found = {}
    for _, title, _, path in PAGES:
        problems = _visit(page, f"{app_url}/{path}", path or "home")
        if problems:
            found[title] = problems
    phone = new_page(width=390, height=844)
    problems = _visit(phone, f"{app_url}/explain", "explain-phone")
    if problems:
        found["Explain on a phone"] = problems
    assert not found, "\n".join(f"{page}: {p}" for page, ps in found.items() for p in ps)
