"""The escaping helpers: user text stays inert in HTML, Markdown and spreadsheets."""
from __future__ import annotations

import html as stdlib_html

import markdown_it
import pytest

from playground.common.escape import WORD_JOINER, csv_cell, html, md

HOSTILE = ["<style>body{display:none}</style>", "<form action='http://evil'>",
           "[click](http://evil.example)", "![x](http://evil.example/p.png)", "# Heading",
           "**bold** _it_ `code`", ":red[alarm]",
           "a & b \"quoted\" 'single'", "=HYPERLINK(\"http://evil\")", "1. list", "> quote"]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_renders_the_text_as_typed(text):
    # CommonMark (markdown-it, the reference parser's port) turns the escaped text back into
    # exactly the characters typed, inside one paragraph, with no link, image, tag or heading.
    rendered = markdown_it.MarkdownIt("commonmark").render(md(text))
    assert rendered.startswith("<p>") and rendered.count("<") == 2
    # (Addresses carry an invisible word joiner, so GitHub-flavoured Markdown links none.)
    assert stdlib_html.unescape(rendered[3:-5]).replace(WORD_JOINER, "") == text


@pytest.mark.parametrize("text", HOSTILE)
def test_html_round_trips_and_has_no_tags(text):
    assert "<" not in html(text) and ">" not in html(text)
    assert stdlib_html.unescape(html(text)) == text


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    for cell in ("=1+2", "+1", "-1+A1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(cell) == "'" + cell
    assert csv_cell("plain") == "plain" and csv_cell(-3) == -3 and csv_cell(0.5) == 0.5
