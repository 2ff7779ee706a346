"""Real browser (the fixtures of tests/conftest.py): a moons run's decision boundary on
Runs moves on while the run trains."""
from __future__ import annotations

from playground.runs.store import Store
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS


def test_runs_shows_a_moons_runs_boundary_change_while_it_trains(server_home, app_url, page):
    from playwright.sync_api import expect

    store = Store(server_home)  # the app's own data folder
    # Small batches and many epochs: still training while the page is watched.
    run_id = store.enqueue(make_config(dataset="moons", model="mlp", epochs=200, batch_size=4,
                                       lr=0.001))
    page.goto(app_url + "/runs")
    chart = page.locator(f"[aria-label^='Decision boundary of run {run_id} after epoch']")
    expect(chart).to_be_visible(timeout=120_000)
    first = chart.get_attribute("aria-label")
    expect(chart).not_to_have_attribute("aria-label", first, timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "runs-boundary-live.png"))
    later = chart.get_attribute("aria-label")
    assert int(later.rsplit(" ", 1)[1]) > int(first.rsplit(" ", 1)[1])
    store.request_cancel(run_id)
