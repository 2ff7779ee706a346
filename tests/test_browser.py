"""Real browser: Playwright drives Debian's Chromium against `streamlit run app.py`.

The path a person clicks: open the app, queue the default run, watch it finish on Runs,
see its confusion matrix on Compare. Screenshots land in test-artifacts/ for a look.
"""
from __future__ import annotations

# Other modules have imported these from here.
from tests.browser_support import (  # noqa: F401
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
)
from tests.browser_support import require_browser as _require_browser  # noqa: F401


def test_queue_default_run_watch_it_finish_and_compare(page):
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Queued run")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)

    page.get_by_role("link", name="Runs").first.click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    expect(page.get_by_text("finished", exact=False).first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Accuracy").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)

    page.get_by_role("link", name="Compare").first.click()
    # A busy 2-core CI machine can take a few seconds to draw Compare the first time.
    expect(page.get_by_role("heading", name="Confusion matrices")).to_be_visible(timeout=30_000)
    charts = page.locator(".vega-embed")
    expect(charts.first).to_be_visible()
    # The heat map is drawn: its axis titles are in the rendered SVG/canvas summary.
    expect(page.get_by_text("true class").first).to_be_attached()
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)


def test_dp_and_quantization_show_epsilon_and_size_on_the_run_card(page):
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=60_000)
    page.get_by_text("All settings", exact=True).click()  # every switch (simple mode: plain)
    page.get_by_text("Privacy noise (DP-SGD)", exact=True).click()
    page.get_by_text("Quantization", exact=True).click()
    try:
        expect(page.get_by_text("Noise (relative to the cap)", exact=True)).to_be_visible()
    except AssertionError:
        page.screenshot(path=str(ARTIFACTS / "dp-toggle-failed.png"), full_page=True)
        raise
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Queued run")).to_be_visible()

    page.get_by_role("link", name="Runs").first.click()
    expect(page.get_by_text("Privacy budget ε", exact=True)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Quantization (int8)", exact=False)).to_be_visible()
    expect(page.get_by_text("saved weights")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "runs-dp-int8.png"), full_page=True)
