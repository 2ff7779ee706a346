"""Real browser: a sweep queued from the Train page, its curve and Pareto view on Sweeps,
and a shared Train link opened in a fresh browser context with the same setup.

Chromium renders Streamlit's charts as SVG, so the Pareto view's points are counted in the
drawn chart itself (one symbol per run).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.browser_support import ARTIFACTS, settled

BASE = "dataset=moons&model=mlp&epochs=2&width=16&seed=3"


def _slider_value(page, label: str) -> str:
    return page.locator(f'input[type="range"][aria-label="{label}"]').input_value()


def _chart(page, title: str):
    return page.locator(".vega-embed").filter(has=page.locator("svg", has_text=title))


def test_sweep_from_the_train_page_then_share_the_setup(app_url, browser, new_page):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a fresh server's first page takes a moment
    page = new_page(height=2400)
    page.goto(f"{app_url}/train?{BASE}")
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible()
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("Two moons (2-D points)")
    assert _slider_value(page, "Epochs") == "2"

    # Queue a 3-value sweep of the privacy noise from the Train page.
    page.get_by_text("Sweep: try several values of one setting").click()
    values = page.get_by_label("Values", exact=True).and_(page.get_by_role("textbox"))
    values.fill("0, 0.5, 1")
    values.press("Enter")
    page.get_by_role("button", name="Queue sweep (3 runs)").click()
    expect(page.get_by_text("Queued sweep")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sweep-train.png"), full_page=True)

    page.get_by_role("link", name="Watch the trade-off curve on Sweeps").click()
    expect(page.get_by_role("heading", name="Sweeps")).to_be_visible()
    expect(page.get_by_text("All 3 runs finished.")).to_be_visible(timeout=180_000)
    curve = _chart(page, "accuracy against Privacy noise (DP-SGD): noise multiplier")
    expect(curve).to_have_count(1)
    # The second axis carries ε for the two runs with privacy noise.
    expect(curve.locator("svg")).to_contain_text("privacy budget ε")
    # The three runs share one model, so one size: said in words, not drawn as a spread.
    expect(page.get_by_text("Every run here has the same weight size").first).to_be_visible()
    expect(_chart(page, "accuracy against weight size (bytes)")).to_have_count(0)
    # Their latencies are drawn when they differ by more than measurement noise.
    latency = _chart(page, "accuracy against latency per example (ms)")
    same = page.get_by_text("differ by less than measurement noise")
    expect(latency.or_(same).first).to_be_visible()
    if latency.count():
        expect(latency.locator("g.mark-symbol.role-mark path")).to_have_count(3)
    # ε exists only for the runs with noise: two points there.
    expect(_chart(page, "accuracy against privacy budget ε").locator("g.mark-symbol.role-mark path")
           ).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "sweep-view.png"), full_page=True)

    # Back on Train, change one control by hand, then take the page's share link.
    page.get_by_role("link", name="Train").first.click()
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible()
    settled(page)
    if not page.get_by_text("Dropout", exact=True).count():  # simple mode: every control
        page.get_by_text("All settings", exact=True).click()
    page.get_by_text("Dropout", exact=True).click()
    expect(page.locator('input[type="range"][aria-label="Share switched off"]')).to_be_attached()
    page.get_by_text("Share this setup").click()
    link_box = page.get_by_test_id("stCode").filter(has_text="dropout=")
    expect(link_box).to_have_count(1)
    link = link_box.inner_text().strip()
    query = parse_qs(urlparse(link).query)
    assert query["dataset"] == ["moons"] and query["epochs"] == ["2"], link
    assert query["seed"] == ["3"] and query["width"] == ["16"] and "dropout" in query, link
    page.screenshot(path=str(ARTIFACTS / "sweep-share.png"), full_page=True)

    # A colleague opens the link in a browser of their own: the same setup.
    other = browser.new_context(viewport={"width": 1400, "height": 2400})
    fresh = other.new_page()
    fresh.set_default_timeout(60_000)
    fresh.goto(link)
    expect(fresh.get_by_role("heading", name="Train a model")).to_be_visible()
    expect(fresh.get_by_role("combobox", name="Dataset")).to_have_value("Two moons (2-D points)")
    expect(fresh.get_by_role("combobox", name="Model")).to_have_value("Neural network (MLP)")
    assert _slider_value(fresh, "Epochs") == "2"
    assert _slider_value(fresh, "Width") == "16"
    assert float(_slider_value(fresh, "Share switched off")) == float(query["dropout"][0])
    expect(fresh.get_by_role("spinbutton", name="Seed")).to_have_value("3")
    fresh.screenshot(path=str(ARTIFACTS / "sweep-shared-link.png"), full_page=True)
    other.close()
