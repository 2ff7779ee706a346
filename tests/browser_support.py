"""Helpers for the real-browser tests (their fixtures are in conftest.py): Debian's Chromium,
a `streamlit run app.py` server on a free port, and waits on the app's own state."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# Streamlit marks its root element with the state of the script run; "notRunning" once a run
# (and the reruns it asked for) has ended. Streamlit's own browser tests wait on it.
SETTLED = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_browser():
    """Playwright's sync API; skips (fails under CI) when Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def streamlit_server(home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py` with its data folder at `home` and one worker; yields its URL
    once it answers, and stops it with its supervisor and workers afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home.parent / f"streamlit-{port}.log"
    environment = {**os.environ, "PLAYGROUND_HOME": str(home), "PLAYGROUND_WORKERS": "1",
                   **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _healthy(url) or proc.poll() is not None, timeout=60)
            if proc.poll() is not None or not _healthy(url):
                pytest.fail("streamlit did not start:\n" + log_path.read_text())
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the app, its supervisor and its workers
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def settled(page, timeout: float = 60_000) -> None:
    """Wait until the page's script runs have ended, so a click is not dropped by a rerun."""
    page.locator(SETTLED).wait_for(state="attached", timeout=timeout)
