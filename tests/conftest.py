"""Shared fixtures: the data folder, AppTest's cleanup, and one Streamlit server and one
Chromium per browser-test module (tests/browser_support.py has the helpers behind them)."""
from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` still finds the packages
    sys.path.insert(0, str(ROOT))

from tests import store_support  # noqa: E402
from tests.browser_support import (  # noqa: E402
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    require_browser,
    streamlit_server,
)

# The attack audits cost a tiny test run several times its training; only the tests about
# attacks switch them on (audits_on, or server_env for a browser module). Set before any
# worker or server process starts, so they inherit it. PLAYGROUND_AUDITS=on pytest runs
# every test with them.
os.environ.setdefault("PLAYGROUND_AUDITS", "off")

# Streamlit's script runner (AppTest) installs the page it ran as a fake __main__ and leaves
# it there; a later test that starts 'spawn' processes would make each child run that page.
_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _real_main():
    yield
    sys.modules["__main__"] = _MAIN


# The fast subset (`make test-fast`, `pytest -m fast`): the core's contracts and pure
# functions, no browser, no server, no worker processes, no training beyond a few steps.
FAST_MODULES = {"test_architecture.py", "test_registry_scan.py", "test_training_contract.py",
                "test_config.py", "test_metrics.py", "test_permissions.py",
                "test_narrative.py", "test_pareto.py", "test_turns.py", "test_uploads.py",
                "test_url_state.py", "test_live.py", "test_escape.py",
                "test_units.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests are marked `browser`, so `-m "not browser"` leaves them out; the
    modules of the fast subset are marked `fast`."""
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if item.path.name in FAST_MODULES:
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def audits_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_AUDITS", "on")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty playground data folder; PLAYGROUND_HOME points at it."""
    path = tmp_path / "home"
    monkeypatch.setenv("PLAYGROUND_HOME", str(path))
    return path


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh data folder for the app under AppTest, with no worker processes; the app's
    cached store and supervisor for this folder are dropped afterwards."""
    path = tmp_path / "home"
    monkeypatch.setenv("PLAYGROUND_HOME", str(path))
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    yield path
    from components.base import services as shared

    if (path / "runs.sqlite").exists():
        shared._supervisor(str(path.resolve())).stop()
    shared._supervisor.clear()
    shared._store.clear()
    shared._feed.clear()


# Real browser: one server and one Chromium per module. Tests in a module share the server's
# store, so none may count on it being empty: each looks at the runs it made.

@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment for the module's server; a module overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of the module's Streamlit server."""
    return tmp_path_factory.mktemp("server") / "home"


@pytest.fixture(scope="module")
def app_url(server_home: Path, server_env: dict[str, str]):
    """`streamlit run app.py` for the whole module; its URL."""
    with streamlit_server(server_home, server_env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, for the whole module."""
    sync_api = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a new browser context (a new session of its own); closed afterwards."""
    contexts = []

    def open_page(width: int = 1400, height: int = 1000, timeout: float = 60_000):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(timeout)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(app_url: str, new_page):
    """A page on the module's server, at Train ("/" is Home, which queues its story)."""
    pg = new_page()
    pg.goto(app_url + "/train")
    return pg


@pytest.fixture(scope="module")
def pool():
    """A few real processes started with 'spawn' (tests/store_support.py), shared by one
    test module's tests of the store under concurrency. Starting them once matters: each
    child imports torch (through playground.training.config), which takes seconds."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(store_support.N_PROCS + 1)
    with ctx.Pool(store_support.N_PROCS, initializer=store_support.init_child,
                  initargs=(barrier,)) as p:
        barrier.wait(180)
        yield p, barrier
