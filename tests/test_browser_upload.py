"""Real browser: upload a CSV on Your data, train on it, see the run finish on Runs with its
story. Screenshots land in test-artifacts/ for a look."""
from __future__ import annotations

from tests.browser_support import ARTIFACTS
from tests.test_uploads import MIXED


def test_upload_a_csv_and_train_on_it(page, app_url, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly
    try:
        upload_and_train(page, app_url, tmp_path, expect)
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the tests after this


def upload_and_train(pg, url: str, tmp_path, expect) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_bytes(MIXED)
    pg.goto(url + "/your_data")
    expect(pg.get_by_role("heading", name="Your data", exact=True)).to_be_visible()
    pg.locator("input[type=file]").set_input_files(str(csv))
    expect(pg.get_by_text("How the data was prepared")).to_be_visible()
    expect(pg.get_by_text("The classes are unbalanced", exact=False)).to_be_visible()
    pg.screenshot(path=str(ARTIFACTS / "your-data.png"), full_page=True)

    pg.get_by_role("button", name="Save it and train on it").click()
    expect(pg.get_by_role("heading", name="Train a model")).to_be_visible()
    expect(pg.get_by_text("Uploaded from customers.csv: 200 rows")).to_be_visible()
    pg.get_by_role("button", name="Train", exact=True).click()
    expect(pg.get_by_text("Queued run")).to_be_visible()

    pg.get_by_role("link", name="Runs").first.click()
    expect(pg.get_by_text("customers · mlp", exact=False).first).to_be_visible()
    expect(pg.get_by_text("What happened:", exact=False).first).to_be_visible(timeout=120_000)
    expect(pg.get_by_text("of the 40 test examples right", exact=False)).to_be_visible()
    pg.screenshot(path=str(ARTIFACTS / "runs-your-data.png"), full_page=True)
