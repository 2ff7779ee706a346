"""Real browser, the presenter's side of a room: the presenter keeps their seat across a
reload and a new tab with no key in any address; the projector page at 1280×720 shows 8
rows of a board with no cut column; End workshop asks, then downloads the room with names;
three phones join, train and read their card, the sidebar closing after each link; and a
walk through every page leaves no Streamlit deprecation warning in the server log.
Screenshots land in test-artifacts/."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from playground.experiments.workshop import (
    Lesson,
    join_workspace,
    load_workspace,
    open_workspace,
    room_config,
    update_workspace,
)
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS, settled

SLOW = 600_000  # ms: runs train in one background worker on a shared 2-core machine
WAIT = 60_000  # ms: a fresh server's first page, a rerun on a busy machine
PEOPLE = ("Ana", "Ben", "Chloé", "Dmitri", "Esperanza Villanueva", "Farid", "Grete", "Hiro",
          "Ines")


def _open_room(page, app_url: str, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(app_url + "/workshop")
    form = page.locator("[data-testid=stForm]").filter(has_text="Open a workshop")
    form.get_by_label("Workshop name", exact=True).fill(name)
    form.get_by_label("Your name", exact=True).fill("Pat")
    form.get_by_role("button", name="Open it").click()
    expect(page.get_by_text(f"{name} · you are Pat (presenter)")).to_be_visible(timeout=WAIT)


def _seat(page) -> None:
    """The presenter's seat, on whichever page is open."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=stSidebar]")).to_contain_text("(presenter)",
                                                                    timeout=WAIT)
    assert "key=" not in page.url and "token=" not in page.url


def _finished_runs(home: Path, room: str) -> None:
    """Two finished runs per person, trained here (the server's worker is left alone): one
    that learns well, and one with privacy noise, queued as the room queues it (with the
    workshop's δ), so it counts on the privacy board."""
    store = Store(home)
    for i, person in enumerate(PEOPLE):
        join_workspace(home, room, person)
        ws = load_workspace(home, room)
        for config in (make_config(dataset="wine", model="mlp", epochs=5, seed=i),
                       make_config(dataset="wine", model="mlp", epochs=4 + i % 3, seed=i,
                                   dp_noise=3.0)):
            run_id = store.enqueue(room_config(ws, config), "running", os.getpid(),
                                   workspace=room, owner=person)
            assert execute(store, store.get(run_id)) == "finished"


def _fits(screen, board) -> None:
    """Every cell of the board shows whole, the page is no wider than the screen, and the
    eighth row (if any) ends above the bottom edge."""
    rows = board.locator("tbody tr")
    if rows.count() >= 8:
        eighth = rows.nth(7).bounding_box()
        assert eighth is not None and eighth["y"] + eighth["height"] <= 720, eighth
    cut = screen.evaluate("""() => [...document.querySelectorAll('table.pj-board td, '
        + 'table.pj-board th')].filter(c => c.scrollWidth > c.clientWidth + 1)
        .map(c => c.textContent)""")
    assert cut == [], cut
    page_width = screen.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 1280, page_width


def test_the_presenter_keeps_the_seat_and_projects_the_boards(app_url, server_home: Path,
                                                               new_page):
    from playwright.sync_api import expect

    host = new_page()
    _open_room(host, app_url, "projected")
    # A reload, then a new tab at a bare address: still the presenter, no key in sight.
    settled(host)
    host.reload()
    _seat(host)
    expect(host.get_by_text("projected · you are Pat (presenter)")).to_be_visible(timeout=WAIT)
    tab = host.context.new_page()
    tab.goto(app_url + "/runs")
    _seat(tab)
    tab.close()

    _finished_runs(server_home, "projected")
    screen = new_page(width=1280, height=720)
    screen.goto(app_url + "/projector?ws=projected")
    # The boards take turns by the clock: this is the accuracy board's table when it shows.
    board = screen.locator("xpath=//p[@class='pj-title' and normalize-space()='Most accurate']"
                           "/following-sibling::table[contains(@class, 'pj-board')]")
    expect(board).to_be_visible(timeout=WAIT)
    expect(board.locator("tbody tr")).to_have_count(len(PEOPLE), timeout=WAIT)
    settled(screen)
    screen.screenshot(path=str(ARTIFACTS / "projector-1280x720.png"))
    _fits(screen, board)
    text = board.inner_text()
    assert all(person in text for person in PEOPLE)
    assert "wine · mlp" in text  # the run in words
    assert not screen.locator("[data-testid=stSidebar]").is_visible()
    # The boards take turns: the privacy board comes round, with ε and δ beside the score.
    private = screen.locator("table.pj-board").filter(
        has=screen.locator("th.pj-privacy", has_text="δ"))
    expect(private).to_be_visible(timeout=WAIT)
    expect(private.locator("th.pj-privacy")).to_have_text(["ε", "δ"])  # as written
    expect(private.locator("tbody tr").first).to_contain_text("e-0")  # δ, as 1.0e-05
    settled(screen)
    screen.screenshot(path=str(ARTIFACTS / "projector-privacy-1280x720.png"))
    _fits(screen, private)

    # End workshop: asks first, then nobody joins or trains, and one download of the room
    # with everyone's names.
    settled(host)
    host.get_by_role("button", name="End workshop").click()
    host.get_by_role("button", name="Yes, end the workshop").click()
    button = host.get_by_role("button", name="Download the room (table and report)")
    expect(button).to_be_visible(timeout=WAIT)
    expect(host.get_by_text("has ended: nobody joins or trains here")).to_be_visible()
    assert load_workspace(server_home, "projected").ended is not None
    with host.expect_download() as download:
        button.click()
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        table = z.read("workshop-projected-runs.csv").decode()
        report = z.read("workshop-projected-report.html").decode()
    assert all(person in table and person in report for person in PEOPLE)
    host.screenshot(path=str(ARTIFACTS / "presenter-ended.png"), full_page=True)
    expect(screen.get_by_text("Workshop ended")).to_be_visible(timeout=WAIT)


def test_three_phones_join_train_and_read_their_cards(app_url, server_home: Path, new_page):
    from playwright.sync_api import expect

    # The room opened from the command line's core; the presenter arrives by their link,
    # whose key leaves the address at once. Everyone trains a tiny fixed run.
    _, key = open_workspace(server_home, "phones", "Pat")
    update_workspace(server_home, "phones", key, lesson=Lesson(
        {"dataset": "wine", "model": "logreg", "epochs": 2}, ["dataset", "model", "epochs"]))
    host = new_page()
    host.goto(f"{app_url}/workshop?ws=phones&key={key}")
    expect(host.get_by_text("phones · you are Pat (presenter)")).to_be_visible(timeout=WAIT)
    _seat(host)
    phones = [new_page(width=390, height=844) for _ in range(3)]
    for phone, name in zip(phones, ("Uma", "Vic", "Wen"), strict=True):
        phone.goto(app_url + "/workshop?ws=phones")
        join = phone.locator("[data-testid=stForm]").filter(has_text="Join workshop phones")
        join.get_by_label("Your name", exact=True).fill(name)
        join.get_by_role("button", name="Join").click()
        expect(phone.get_by_text(f"phones · you are {name}")).to_be_visible(timeout=WAIT)
        assert "token=" not in phone.url
    # The presenter's people list shows them without a reload.
    people = host.get_by_text("Presenter: people in this workshop (3)")
    expect(people).to_be_visible(timeout=WAIT)

    for phone in phones:
        phone.get_by_role("button", name="Train a model for this workshop").click()
        expect(phone.get_by_text("Share this setup")).to_be_visible(timeout=WAIT)
        settled(phone)
        phone.get_by_role("button", name="Train", exact=True).click()
        expect(phone.get_by_text("Queued run")).to_be_visible(timeout=WAIT)
    for phone, name in zip(phones, ("Uma", "Vic", "Wen"), strict=True):
        # Open the sidebar, follow its Runs link: the sidebar closes over the page.
        settled(phone)
        phone.locator("[data-testid=stExpandSidebarButton]").click()
        sidebar = phone.locator("[data-testid=stSidebar]")
        expect(sidebar).to_have_attribute("data-collapsed", "false", timeout=WAIT)
        sidebar.locator('a[href="runs"]').first.click()
        expect(phone.get_by_role("heading", name="Runs", exact=True)).to_be_visible(
            timeout=WAIT)
        expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=WAIT)
        expect(phone.get_by_text("finished").first).to_be_visible(timeout=SLOW)
        phone.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    runs = [r for r in Store(server_home).list_runs() if r.workspace == "phones"]
    assert sorted(r.owner for r in runs) == ["Uma", "Vic", "Wen"]


def test_a_walk_through_every_page_logs_no_deprecation(app_url, server_home: Path, new_page):
    from playwright.sync_api import expect

    from components.shell.navigation import PAGES

    page = new_page()
    _open_room(page, app_url, "walk")
    for *_, url in PAGES:
        page.goto(f"{app_url}/{url}" + ("?ws=walk" if url == "projector" else ""))
        settled(page)
        expect(page.locator("[data-testid=stMain]")).to_be_visible(timeout=WAIT)
    page.reload()
    settled(page)
    log = (server_home.parent / f"streamlit-{app_url.rsplit(':', 1)[1]}.log").read_text()
    assert "deprecat" not in log.lower(), log[-3000:]
