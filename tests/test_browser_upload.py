"""Real browser, as a new user: upload a CSV on Your data and train on it in one click (the
run finishes on Runs with its story); upload one with a sensitive column and press "Try the
trade-offs on my data": the walkthrough appears with no other click. Screenshots land in
test-artifacts/ for a look."""
from __future__ import annotations

from tests.browser_support import ARTIFACTS
from tests.test_uploads import MIXED
from tests.test_your_data_tradeoffs import loans_csv


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
    # The upload form's box is the first on the page ("Check a new batch" has one below).
    pg.locator("input[type=file]").first.set_input_files(str(csv))
    expect(pg.get_by_text("How the data was prepared")).to_be_visible()
    expect(pg.get_by_text("The classes are unbalanced", exact=False)).to_be_visible()
    expect(pg.get_by_text("can't name groups", exact=False)).to_have_count(0)  # none picked
    pg.screenshot(path=str(ARTIFACTS / "your-data.png"), full_page=True)

    pg.get_by_role("button", name="Save it and train on it").click()
    expect(pg.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(pg.get_by_text("customers · mlp", exact=False).first).to_be_visible()
    expect(pg.get_by_text("What happened:", exact=False).first).to_be_visible(timeout=120_000)
    expect(pg.get_by_text("of the 40 test examples right", exact=False)).to_be_visible()
    pg.screenshot(path=str(ARTIFACTS / "runs-your-data.png"), full_page=True)


def test_try_the_tradeoffs_on_my_data_as_a_new_user(page, app_url, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    try:
        csv = tmp_path / "loans.csv"
        csv.write_bytes(loans_csv())
        pg = page
        pg.goto(app_url + "/your_data")
        pg.locator("input[type=file]").first.set_input_files(str(csv))
        expect(pg.get_by_text("How the data was prepared")).to_be_visible()
        expect(pg.get_by_text("Free text left out of the model", exact=False)).to_be_visible()
        pg.locator(".st-key-your_data_sensitive [data-testid=stSelectbox]").click()
        pg.get_by_role("option", name="gender", exact=True).click()
        pg.locator(".st-key-your_data_save_then button").click()  # save, then try them
        expect(pg.get_by_role("heading", name="Trade-offs on loans")).to_be_visible()
        walk = pg.get_by_text("On your data:", exact=False).first
        expect(walk).to_be_visible(timeout=300_000)  # five small runs train meanwhile
        expect(pg.get_by_text("Leaving gender out of the model", exact=False).first
               ).to_be_visible()
        expect(pg.get_by_text("Check the law before using this", exact=False).first
               ).to_be_visible()
        pg.screenshot(path=str(ARTIFACTS / "your-data-tradeoffs.png"), full_page=True)
    finally:
        expect.set_options(timeout=5_000)
