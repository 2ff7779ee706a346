"""Real browser, a hostile upload: class names that are HTML (`<style>`, `<form>`) and a
Markdown link, a column named like a Markdown picture and a file named like a link. On Train,
Runs, Explain and Compare that text shows exactly as typed and nothing is built from it: no
style sheet, no form, no link, no picture. Screenshots land in test-artifacts/."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from playground.common.escape import WORD_JOINER
from playground.data import uploads
from playground.runs.queue import submit
from playground.runs.store import Store
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS, settled, wait_for

STYLE = "<style>body{display:none}</style>"
FORM = "<form action=x><input></form>"
LINK = "[click me](http://evil.example)"
CLASSES = [STYLE, FORM, LINK]
COLUMN = "![x](http://evil.example/p.png)"
FILE = "[file](https:evil.example).csv"  # no slash: a file name keeps no folder
UNKNOWN_KEY = "[k](https:evil.example)"
# What the user's text would have become, had it been taken as HTML or Markdown.
BUILT = ("a[href*='evil']", "img[src*='evil']", "form[action='x']")
SHEETS = ("() => [...document.querySelectorAll('style')]"
          ".filter(s => /display:\\s*none/.test(s.textContent)).length")


def hostile_csv() -> bytes:
    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(["size", COLUMN, "label"])
    for i in range(180):  # three classes a tiny model separates, so there is a story
        rows.writerow([i % 3 * 2 + (i % 7) / 7, (i * 37) % 11, CLASSES[i % 3]])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data folder, with the hostile upload saved and two tiny runs on it
    queued before the server starts (its workers train them): one leaves the hostile
    column out, so the run's label carries it."""
    home = tmp_path_factory.mktemp("server") / "home"
    home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLAYGROUND_HOME", str(home))
        uploads.save(uploads.prepare(hostile_csv(), FILE, "label", "hostile"), home=home)
        store = Store(home)
        for extra in ({}, {"leave_out": COLUMN}):
            submit(store, make_config(dataset="hostile", model="mlp", epochs=2, **extra))
    return home


@pytest.fixture(scope="module")
def finished(app_url: str, server_home: Path, browser) -> list[str]:
    """Both runs finished (a first page view starts the server's workers)."""
    page = browser.new_page()
    page.goto(app_url + "/runs")
    store = Store(server_home)
    done = wait_for(lambda: all(r.status == "finished" for r in store.list_runs()),
                    timeout=300, every=1)
    page.close()
    runs = store.list_runs()
    assert done, [(r.id, r.status, r.error) for r in runs]
    return [r.id for r in runs]


def nothing_built(pg, where: str, fix: str = "") -> None:
    """The page still shows (a `<style>` taken as HTML hides the body) and holds no element
    made from the user's text."""
    settled(pg)
    pg.wait_for_timeout(500)  # the last deltas of a settled run
    pg.screenshot(path=str(ARTIFACTS / f"hostile-{where}.png"), full_page=True)
    made = [pg.locator(s).count() for s in BUILT] + [pg.evaluate(SHEETS)]
    assert made == [0, 0, 0, 0], (
        f"{where}: elements built from uploaded text (links, pictures, forms, style sheets: "
        f"{made}). {fix}")
    assert pg.locator("[data-testid=stMain]").is_visible(), f"{where}: the page was hidden. {fix}"


def text_block(pg, text: str):
    """The first element on the page showing `text` as typed; addresses may carry an
    invisible word joiner (it keeps them from being links)."""
    typed = re.compile(f"{WORD_JOINER}?".join(map(re.escape, text)))
    return pg.locator("[data-testid=stMain]").get_by_text(typed).first


def shown(pg, text: str, where: str, fix: str = "") -> None:
    from playwright.sync_api import expect

    try:
        expect(text_block(pg, text)).to_be_visible(timeout=30_000)
    except AssertionError as exc:
        raise AssertionError(f"{where}: {text!r} is not shown as typed. {fix}") from exc


def test_train_shows_the_upload_and_a_hostile_link_key_as_plain_text(page, app_url):
    page.goto(f"{app_url}/train?dataset=hostile&{quote(UNKNOWN_KEY)}=1")
    settled(page)
    fix = ("Escape on Train: components/training/run_settings.py (st.caption(ds.description)"
           " -> escape.md) and components/training/url_presets.py (the link's problems, "
           "'- {p}' -> '- {escape.md(p)}').")
    shown(page, FILE, "Train, the dataset's description", fix)
    shown(page, f"{UNKNOWN_KEY}: is not a setting", "Train, the link's unknown key", fix)
    nothing_built(page, "train", fix)


def test_runs_cards_show_the_hostile_label_as_plain_text(page, app_url, finished):
    page.goto(app_url + "/runs")
    shown(page, f"without {COLUMN}", "Runs, the card's label")
    nothing_built(page, "runs")


def test_explain_shows_hostile_class_names_as_plain_text(page, app_url, finished):
    from playwright.sync_api import expect

    page.goto(app_url + "/explain")
    expect(page.get_by_text("Explanations of", exact=False).first).to_be_visible(
        timeout=120_000)
    fix = ("Escape on Explain: components/explain/grid.py legend() (escape.html(class_name) "
           "inside st.html) and _row_header() (escape.md of the class names and "
           "run.config.label()).")
    answer = page.locator("[data-testid=stMain]").get_by_text(
        re.compile(r"says .+, \d+% sure")).first
    expect(answer).to_be_visible(timeout=30_000)
    nothing_built(page, "explain", fix)
    said = answer.inner_text().replace(WORD_JOINER, "")
    assert any(c in said for c in CLASSES), (
        f"Explain: the run's answer {said!r} does not show its class as typed. {fix}")


def test_compare_shows_hostile_names_as_plain_text(page, app_url, finished):
    page.goto(app_url + "/compare")
    shown(page, COLUMN, "Compare, what changed between the runs")
    nothing_built(page, "compare")
