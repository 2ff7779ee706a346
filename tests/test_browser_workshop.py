"""Real browser: a first visit to Home reaches a finished story with no input, and two
people in one workshop (two browser contexts, so two sessions) see each other's runs on
the shared leaderboard. Screenshots land in test-artifacts/."""
from __future__ import annotations

from pathlib import Path

from playground.experiments.workshop import load_workspace
from playground.runs.store import Store
from playground.training.config import make_config
from tests.browser_support import ARTIFACTS, settled, wait_for

SLOW = 600_000  # ms: runs train in one background worker on a shared 2-core machine
WAIT = 60_000  # ms: a fresh server's first page, a rerun on a busy machine


def test_first_visit_reaches_a_finished_story_with_no_input(app_url, server_home: Path,
                                                             new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(app_url)
    heading = page.get_by_role("heading", name="Privacy costs accuracy")
    expect(heading).to_be_visible(timeout=WAIT)
    # Its runs are in line or training right away: nothing was clicked.
    expect(page.get_by_text("No privacy noise", exact=True)).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(ARTIFACTS / "home-live.png"), full_page=True)
    expect(page.get_by_text("Every number above comes from the runs")).to_be_visible(
        timeout=SLOW)
    expect(page.get_by_text("Without privacy noise the model read")).to_be_visible(timeout=WAIT)
    expect(page.locator(".vega-embed").first).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(ARTIFACTS / "home-result.png"), full_page=True)

    # A second visitor sees the same finished story; nothing more was queued.
    other = new_page()
    other.goto(app_url)
    result = other.get_by_text("Without privacy noise the model read")
    expect(result).to_be_visible(timeout=WAIT)
    runs = [r for r in Store(server_home).list_runs() if not r.workspace]  # Home's story's
    assert len(runs) == 3 and {r.status for r in runs} == {"finished"}
    assert {("dp" in r.config.techniques) for r in runs} == {True, False}


def _train_for_workshop(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Train a model for this workshop").click()
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=WAIT)
    # Wait until the lesson's preset is applied (the page writes it into the address), so
    # the click lands on the settled page rather than on one being redrawn.
    page.wait_for_url("**/train?*dataset=wine*", timeout=WAIT)
    expect(page.get_by_text("Share this setup")).to_be_visible(timeout=WAIT)
    # Let earlier runs end first: when the queue empties, the sidebar's poll reruns the page
    # to stop polling, and a click that lands in that very moment can be dropped.
    expect(page.get_by_text("0 training · 0 waiting")).to_be_visible(timeout=SLOW)
    settled(page)
    page.get_by_role("button", name="Train", exact=True).click()
    try:
        expect(page.get_by_text("Queued run")).to_be_visible(timeout=WAIT)
    except AssertionError:
        page.screenshot(path=str(ARTIFACTS / "workshop-train-failed.png"), full_page=True)
        raise
    page.get_by_role("link", name="Leaderboard").click()  # the sidebar's workshop link


def test_two_people_in_one_workshop_see_each_others_runs(app_url, server_home: Path, new_page):
    from playwright.sync_api import expect

    host, guest = new_page(), new_page()

    host.goto(app_url + "/workshop")
    form = host.locator("[data-testid=stForm]").filter(has_text="Open a workshop")
    form.get_by_label("Workshop name", exact=True).fill("friday class")
    form.get_by_label("Your name", exact=True).fill("Pat")
    form.get_by_role("button", name="Open it").click()
    me = host.get_by_text("friday-class · you are Pat (presenter)")
    expect(me).to_be_visible(timeout=WAIT)

    # The presenter fixes the lesson: everyone trains logistic regression on wine (ten
    # epochs by default: well above guessing, so both runs are ranked).
    settled(host)  # the page's first runs (the key box, the cookie) are over
    host.get_by_text("Presenter: set the lesson, limits and boards").click()
    lesson = host.locator("[data-testid=stForm]").filter(has_text="Save for everyone")
    expect(lesson).to_be_visible(timeout=WAIT)
    for label, option in (("Everyone uses the dataset", "Wine (13 chemical measurements)"),
                          ("… and the model", "Logistic regression")):
        choice = host.get_by_role("option", name=option, exact=True)
        box = lesson.get_by_role("combobox", name=label)
        settled(host)
        for _ in range(5):  # a click while the form is still being drawn opens nothing
            box.click()
            if wait_for(choice.is_visible, timeout=5):
                break
            host.keyboard.press("Escape")
        choice.click()
        expect(box).to_have_value(option)
    lesson.get_by_role("button", name="Save for everyone").click()
    expect(host.get_by_text("Saved for everyone")).to_be_visible(timeout=WAIT)
    expect(host.get_by_text("Dataset: Wine (13 chemical measurements); Model: Logistic "
                            "regression")).to_be_visible(timeout=WAIT)

    guest.goto(app_url + "/workshop?ws=friday-class")  # the join link
    join = guest.locator("[data-testid=stForm]").filter(has_text="Join workshop friday-class")
    expect(join).to_be_visible(timeout=WAIT)
    join.get_by_label("Your name", exact=True).fill("Bea")
    join.get_by_role("button", name="Join").click()
    expect(guest.get_by_text("friday-class · you are Bea")).to_be_visible(timeout=WAIT)

    _train_for_workshop(host)
    _train_for_workshop(guest)
    for page, me, them in ((host, "Pat", "Bea"), (guest, "Bea", "Pat")):
        board = page.locator("[data-testid=stTable]").first
        expect(board).to_contain_text(them, timeout=SLOW)
        expect(board).to_contain_text(f"{me}  ← you".replace("  ", " "), timeout=WAIT)
    host.screenshot(path=str(ARTIFACTS / "workshop-host.png"), full_page=True)
    guest.screenshot(path=str(ARTIFACTS / "workshop-guest.png"), full_page=True)
    runs = [r for r in Store(server_home).list_runs() if r.workspace == "friday-class"]
    assert sorted((r.workspace, r.owner, r.config.dataset, r.config.model) for r in runs) == [
        ("friday-class", "Bea", "wine", "logreg"), ("friday-class", "Pat", "wine", "logreg")]


def _queue_from_train(page) -> str:
    """Press Train on the Train page; return the id of the run it queued."""
    import re

    from playwright.sync_api import expect

    expect(page.get_by_text("Share this setup")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Train", exact=True).click()
    queued = page.get_by_text(re.compile(r"Queued run \w+"))
    expect(queued).to_be_visible(timeout=WAIT)
    return re.search(r"Queued run (\w+)", queued.inner_text()).group(1)


def test_in_a_room_nobody_can_undo_anyone_elses_work(app_url, server_home: Path, new_page):
    """The presenter, Alice and Bob in three browser contexts: Alice queues a run; Bob sees
    it, read-only; someone else typing "Alice" is refused; Alice reloads Train and queues
    again, still herself, in the workshop; a new tab of hers at a bare address is her too."""
    from playwright.sync_api import expect

    store = Store(server_home)
    host, alice, bob, other = (new_page() for _ in range(4))
    host.goto(app_url + "/workshop")
    form = host.locator("[data-testid=stForm]").filter(has_text="Open a workshop")
    form.get_by_label("Workshop name", exact=True).fill("room")
    form.get_by_label("Your name", exact=True).fill("Pat")
    form.get_by_role("button", name="Open it").click()
    expect(host.get_by_text("room · you are Pat (presenter)")).to_be_visible(timeout=WAIT)
    # The presenter's long run holds the one worker, so the room's runs wait in line
    # (and show on Runs' live cards) however slow or fast this machine is.
    long = store.enqueue(make_config(dataset="digits", model="cnn", epochs=200,
                                     batch_size=16), workspace="room", owner="Pat")

    for page, name in ((alice, "Alice"), (bob, "Bob")):
        page.goto(app_url + "/workshop?ws=room")  # the join link
        join = page.locator("[data-testid=stForm]").filter(has_text="Join workshop room")
        join.get_by_label("Your name", exact=True).fill(name)
        join.get_by_role("button", name="Join").click()
        expect(page.get_by_text(f"room · you are {name}")).to_be_visible(timeout=WAIT)
    assert "token=" not in bob.url  # the cookie keeps the seat; the link is on request
    bob.get_by_role("button", name="Show my personal link").click()
    expect(bob.get_by_text("/workshop?ws=room&token=")).to_be_visible(timeout=WAIT)
    # The worker has the long run: what follows waits in line.
    assert wait_for(lambda: store.get(long).status == "running", timeout=120)

    alice.get_by_role("button", name="Train a model for this workshop").click()
    first = _queue_from_train(alice)
    bob_run = store.enqueue(make_config(dataset="moons", model="logreg"),
                            workspace="room", owner="Bob")

    # Bob, on Runs, everyone in the workshop: Alice's run, without buttons; his own
    # has its Cancel.
    bob.locator('[data-testid="stSidebar"] a[href="runs"]').first.click()
    bob.get_by_text("Everyone in room", exact=True).click()
    head = bob.locator("[data-testid=stHorizontalBlock]")
    theirs = head.filter(has=bob.get_by_text(first)).last
    expect(theirs).to_contain_text("by Alice", timeout=WAIT)
    expect(theirs.get_by_role("button")).to_have_count(0)
    mine = head.filter(has=bob.get_by_text(bob_run)).last
    expect(mine.get_by_role("button", name="Cancel")).to_be_visible(timeout=WAIT)
    bob.screenshot(path=str(ARTIFACTS / "room-bob-everyone.png"), full_page=True)

    # Someone else types Alice's name, without her link: refused.
    other.goto(app_url + "/workshop?ws=room")
    join = other.locator("[data-testid=stForm]").filter(has_text="Join workshop room")
    join.get_by_label("Your name", exact=True).fill("alice")
    join.get_by_role("button", name="Join").click()
    expect(other.get_by_text("The name 'alice' is taken in this workshop")).to_be_visible(
        timeout=WAIT)
    expect(other.get_by_text("room · you are")).to_have_count(0)

    # Alice reloads Train (a new session) and queues again: still her, in the room.
    alice.reload()
    expect(alice.get_by_role("heading", name="Train a model")).to_be_visible(timeout=WAIT)
    expect(alice.locator("[data-testid=stSidebar]")).to_contain_text("room · Alice",
                                                                      timeout=WAIT)
    second = _queue_from_train(alice)
    alice.screenshot(path=str(ARTIFACTS / "room-alice-reloaded.png"), full_page=True)
    # A second tab from a bare address (no token in it): her browser still knows her.
    tab = alice.context.new_page()
    tab.goto(app_url + "/runs")
    expect(tab.locator("[data-testid=stSidebar]")).to_contain_text("room · Alice",
                                                                    timeout=WAIT)
    store.request_cancel(long)
    runs = {r.id: r for r in store.list_runs()}
    assert {(runs[i].workspace, runs[i].owner) for i in (first, second)} == {("room", "Alice")}
    assert first != second and runs[bob_run].status != "cancelled"  # nobody cancelled it
    people = [p.name for p in load_workspace(server_home, "room").people]
    assert sorted(people) == ["Alice", "Bob"]  # one Alice: the second was refused
