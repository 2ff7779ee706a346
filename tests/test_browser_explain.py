"""Real browser on the Explain page: Playwright drives Debian's Chromium against
`streamlit run app.py` (the fixtures of tests/conftest.py).

Two runs are trained beforehand through the store, the way the CLI trains in the
foreground, so the test spends its time on the page rather than waiting for the queue.
"""
from __future__ import annotations

import os

from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS


def _train(store: Store, **values) -> str:
    run_id = store.enqueue(make_config(**values), status="running", pid=os.getpid())
    assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
    return run_id


def _pick(pg, key: str, option: str) -> None:
    """Choose an option of a multiselect by typing it, then close the list."""
    box = pg.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    pg.get_by_role("option", name=option).first.click()
    pg.locator("h1").first.click()  # a click outside closes the list


def test_two_runs_three_methods_show_six_explanation_maps(server_home, app_url, page):
    from playwright.sync_api import expect

    store = Store(server_home)  # the app's own data folder
    first = _train(store, dataset="digits", model="mlp", epochs=2)
    second = _train(store, dataset="digits", model="mlp", epochs=2, dropout=0.3)

    page.goto(app_url + "/explain")
    expect(page.get_by_role("heading", name="Explain a prediction")).to_be_visible(
        timeout=60_000)
    expect(page.get_by_role("heading", name="Choose an example")).to_be_visible(
        timeout=60_000)

    # Two runs: the page starts with the newest; add the other (labels end with the id).
    _pick(page, "explain_runs", first)
    runs = page.locator(".st-key-explain_runs")
    expect(runs.get_by_label(f"run {first}", exact=False).first).to_be_visible(timeout=30_000)
    expect(runs.get_by_label(f"run {second}", exact=False).first).to_be_visible()

    # Three methods: drop the defaults but one, add two others.
    methods = page.locator(".st-key-explain_methods")
    for name in ("LIME", "Integrated Gradients"):
        methods.get_by_label(f"Remove {name}").click()
        expect(methods.get_by_label(f"Remove {name}")).to_have_count(0, timeout=30_000)
    _pick(page, "explain_methods", "Saliency")
    _pick(page, "explain_methods", "Occlusion")
    for name in ("SHAP", "Saliency", "Occlusion"):
        expect(methods.get_by_label(f"Remove {name}")).to_be_visible(timeout=30_000)

    grid = page.locator(".st-key-explain_grid")
    maps = grid.locator(".vega-embed")
    expect(maps).to_have_count(6, timeout=180_000)
    expect(grid.get_by_text("working on it")).to_have_count(0, timeout=180_000)
    # Each map is drawn (Vega renders a canvas or an SVG), and the rows name their runs.
    for i in range(6):
        expect(maps.nth(i).locator("canvas, svg").first).to_be_visible(timeout=30_000)
    expect(grid.get_by_text(first, exact=False).first).to_be_visible()
    expect(grid.get_by_text(second, exact=False).first).to_be_visible()
    expect(page.get_by_role("heading", name="Do they agree?")).to_be_visible(timeout=30_000)
    # Every map has laid out its drawing before the screenshot.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.st-key-explain_grid .vega-embed')]"
        ".every(e => { const d = e.querySelector('canvas, svg');"
        " return d && d.getBoundingClientRect().width > 0; })")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.screenshot(path=str(ARTIFACTS / "explain.png"), full_page=True)
