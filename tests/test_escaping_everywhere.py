"""Every export of runs trained on a hostile upload: class names, a column and a group that a
spreadsheet would run as formulas (`=HYPERLINK(...)`, `+`, `-`, `@`) or a browser would take
as HTML (`<style>`, `<form>`). Read back with Python's own csv and html parsers, every CSV
cell follows OWASP's rule (no cell starts like a formula, numbers stay numbers) and keeps the
person's text after its apostrophe; no HTML report holds an element made from that text."""
from __future__ import annotations

import csv
import html as stdlib_html
import io
import os
import re
import zipfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import markdown_it
import pytest

from playground.common.escape import WORD_JOINER, md
from playground.data import uploads
from playground.experiments.room_export import room_csv, room_report, room_zip
from playground.experiments.workshop import load_workspace, open_workspace
from playground.results import export
from playground.runs.store import Run, Store
from playground.runs.worker import execute
from playground.training.config import make_config

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "@SUM(A1)"]
STYLE = "<style>body{display:none}</style>"
FORM = "<form action=x><input></form>"
CLASSES = [FORMULAS[0], STYLE, FORM]
COLUMN = "-2+3"  # left out of the model, so it is in the run's settings and its label
GROUPS = ["=A1", "+B2"]
OWNER = "@everyone"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_csv() -> bytes:
    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(["size", COLUMN, "@group", "label"])
    for i in range(120):
        rows.writerow([i % 3 * 2 + (i % 5) / 5, i % 7, GROUPS[i % 2], CLASSES[i % 3]])
    return out.getvalue().encode()


@pytest.fixture
def trained(home: Path) -> tuple[Store, list[Run]]:
    """Two tiny runs on the hostile upload, in a workshop, under a formula-like owner; one
    reports fairness by the formula-named groups, the other leaves the hostile column out."""
    prepared = uploads.prepare(hostile_csv(), "hostile.csv", "label", "hostile")
    assert prepared.class_names == sorted(CLASSES)
    uploads.save(prepared, home=home)
    store = Store(home)
    open_workspace(home, "room", "Pat")
    for extra in ({"sensitive": "@group"}, {"leave_out": COLUMN}):
        store.enqueue(make_config(dataset="hostile", model="mlp", epochs=1, **extra),
                      workspace="room", owner=OWNER)
        execute(store, store.claim(os.getpid()))
    runs = store.list_runs()
    assert [r.status for r in runs] == ["finished", "finished"], [r.error for r in runs]
    return store, runs


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_owasp(text: str) -> list[str]:
    """Every cell of `text` (CSV) as a spreadsheet would see it: none starts a formula, except
    a number such as -0.5. Returns the cells."""
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert cells
    for cell in cells:
        assert not cell.startswith(FORMULA_START) or _number(cell), cell
    return cells


def assert_kept(cells: list[str], *texts: str) -> None:
    """The person's text is all there, shown as typed after the apostrophe."""
    for text in texts:
        quoted = "'" + text if text.startswith(FORMULA_START) else text
        assert any(quoted in cell for cell in cells), text


class Elements(HTMLParser):
    """The elements and text a browser would build from a page."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def assert_inert(page: str, *shown: str) -> None:
    parsed = Elements(page)
    assert not [t for t, _ in parsed.tags if t in ("form", "input", "img")]
    assert not [a for t, a in parsed.tags if t == "a" and "evil" in (a.get("href") or "")]
    assert not [s for s in parsed.styles if "display:none" in s.replace(" ", "")]
    text = " ".join(parsed.text)
    for value in shown:
        assert value in text, value


def test_compare_csv_neutralises_every_formula_cell_from_an_upload(trained):
    store, runs = trained
    cells = assert_owasp(export.runs_csv(runs, store))
    assert_kept(cells, COLUMN, "@group", OWNER)
    plain = assert_owasp(export.runs_csv(runs))  # without the business answers
    assert_kept(plain, COLUMN)
    # Negative numbers stay numbers, not text with an apostrophe.
    negative = replace(runs[0], metrics={**runs[0].metrics, "accuracy": -0.5})
    assert "-0.5" in assert_owasp(export.runs_csv([negative]))


def test_room_csv_and_zip_neutralise_every_formula_cell(trained, home):
    store, runs = trained
    ws = load_workspace(home, "room")
    cells = assert_owasp(room_csv(store, ws))
    assert_kept(cells, COLUMN, OWNER)
    with zipfile.ZipFile(io.BytesIO(room_zip(store, ws))) as z:
        (table,) = [n for n in z.namelist() if n.endswith(".csv")]
        assert assert_owasp(z.read(table).decode()) == cells


def test_html_reports_show_hostile_names_as_text(trained, home):
    store, runs = trained
    assert_inert(export.html_report(store, runs), f"without {COLUMN}", OWNER)
    assert_inert(room_report(store, load_workspace(home, "room")), f"without {COLUMN}")


# GitHub-flavoured Markdown's bare-address links, as mdast-util-gfm-autolink-literal (behind
# remark-gfm, which Streamlit renders with) finds them in a paragraph's text once escapes are
# read: web addresses after a start, space or punctuation, and mail addresses.
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I)
GFM_MAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


@pytest.mark.parametrize("text", ["![x](http://evil.example/p.png)", "see www.evil.example",
                                  "[click me](HTTPS://evil.example)", "mail boss@evil.example"])
def test_markdown_makes_no_bare_address_a_link(text):
    rendered = markdown_it.MarkdownIt("commonmark").render(md(text))
    shown = stdlib_html.unescape(rendered[3:-5])
    assert rendered.count("<") == 2 and shown.replace(WORD_JOINER, "") == text
    assert GFM_URL.search(shown) is None and GFM_MAIL.search(shown) is None
    assert GFM_URL.search(text) or GFM_MAIL.search(text)  # the check can see them unescaped
