"""Cookies in the person's browser: read with `st.context.cookies`, written by a small custom
component (Streamlit reads cookies but has no call that sets one).

The component (`st.components.v2`, Streamlit's supported way to run code in the page) runs
its script when it first mounts and again whenever its data changes, so mounting it with the
same data on every run writes once. Only values checked against `SAFE` are written, so
nothing a person typed can reach the script.
"""
from __future__ import annotations

import re

import streamlit as st

SAFE = re.compile(r"^[A-Za-z0-9._:-]*$")  # workshop names, tokens, keys; nothing to quote

_JS = """
export default function({ data }) {
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  for (const c of (data && data.cookies) || []) {
    document.cookie = `${c.name}=${c.value}; path=/; max-age=${c.age}; SameSite=Strict`
      + secure;
  }
}
"""
_writer = st.components.v2.component("playground.cookie_writer", js=_JS)


def read(name: str) -> str | None:
    """The cookie as the browser sent it when this session began (None without a browser)."""
    try:
        value = st.context.cookies.get(name)
    except Exception:  # no browser (AppTest)
        return None
    return value if isinstance(value, str) else None


def write(cookies: dict[str, str | None], days: float, key: str) -> None:
    """Set each cookie to its value for `days` (None: delete it), in the sidebar, taking no
    room. `key` keeps the same element across runs."""
    items = []
    for name, value in sorted(cookies.items()):
        if not SAFE.match(name) or (value is not None and not SAFE.match(value)):
            raise ValueError(f"cookie {name!r}: only letters, digits and . _ : - are written")
        items.append({"name": name, "value": value or "",
                      "age": int(days * 86_400) if value else 0})
    with st.sidebar:
        _writer(key=key, data={"cookies": items}, height=0)
