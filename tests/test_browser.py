"""Real browser: Playwright drives Debian's Chromium against `streamlit run app.py`.

The path a person clicks: open the app, queue the default run, watch it finish on Runs,
see its confusion matrix on Compare. Screenshots land in test-artifacts/ for a look.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def app_url(tmp_path):
    port = _free_port()
    env = dict(os.environ, PLAYGROUND_HOME=str(tmp_path / "home"), PLAYGROUND_WORKERS="1")
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.close()
            pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text())
        time.sleep(0.3)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)  # the app, its supervisor and its workers
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def page(app_url):
    sync_api = _require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        pg.goto(app_url + "/train")  # "/" is Home, which queues its story
        yield pg
        browser.close()


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
    page.get_by_text("Privacy noise (DP-SGD)", exact=True).click()
    page.get_by_text("Quantization", exact=True).click()
    try:
        expect(page.get_by_text("Noise multiplier", exact=True)).to_be_visible()
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
