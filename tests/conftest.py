"""Shared fixtures: keep this small and generic."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` still finds the packages
    sys.path.insert(0, str(ROOT))


# The attack audits cost a tiny test run several times its training; only the tests about
# attacks switch them on (audits_on). Set before any worker or server process starts, so
# they inherit it. PLAYGROUND_AUDITS=on pytest runs every test with them.
os.environ.setdefault("PLAYGROUND_AUDITS", "off")


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
