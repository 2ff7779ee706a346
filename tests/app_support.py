"""Opening the app under Streamlit's AppTest, the way every page test does it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from playground.common.escape import WORD_JOINER
from playground.experiments.workshop import join_workspace

APP = Path(__file__).resolve().parent.parent / "app.py"


def plain(markdown: str) -> str:
    """An element's Markdown source as a reader sees it: backslash escapes read, the word
    joiners that keep addresses from being links dropped."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def open_page(page: str, query: dict[str, str] | None = None,
              session: dict[str, Any] | None = None, timeout: float = 60) -> AppTest:
    """Run app.py straight into `page` (a deep link: the Home page would queue its story),
    with optional URL query parameters and session state; fail on any exception."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def participant(home: Path, workshop: str, name: str) -> dict[str, str]:
    """The session of someone who joined `workshop` as `name` (with their private token)."""
    _, token = join_workspace(home, workshop, name)
    return {"workshop_name": workshop, "workshop_token": token}
