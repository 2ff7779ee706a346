"""The presenter's side of a workshop without a browser: the join link's network address and
QR code, the projector page (boards only, nothing private), and the room's export at the
end (every run with its person, formula cells neutralised, the boards in the report)."""
from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

from PIL import Image

from components.experiments.join_link import host_choices, network_addresses, qr_png, with_host
from playground.experiments.leaderboards import leaderboards
from playground.experiments.room_export import room_zip
from playground.experiments.workshop import (
    end_workshop,
    join_workspace,
    load_workspace,
    open_workspace,
)
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from tests.app_support import open_page, participant


def test_the_join_link_uses_a_network_address_private_networks_first():
    found = network_addresses(["127.0.0.1", "169.254.3.4", "8.8.4.4", "192.168.1.20",
                               "10.0.0.7", "not an address", "192.168.1.20"])
    assert found == ["10.0.0.7", "192.168.1.20", "8.8.4.4"]
    # Opened at 127.0.0.1 the page's own host is useless to a phone: the network ones only.
    assert host_choices("http://127.0.0.1:8501/workshop", found) == found
    assert host_choices("http://laptop.local:8501/", found)[0] == "laptop.local"
    assert with_host("http://127.0.0.1:8501/workshop?ws=a", "10.0.0.7") == (
        "http://10.0.0.7:8501/workshop?ws=a")


def test_the_qr_code_is_a_square_png_of_whole_modules():
    url = "http://10.0.0.7:8501/workshop?ws=friday-class"
    image = Image.open(io.BytesIO(qr_png(url, scale=4)))
    # Version v has 17 + 4v modules a side, plus 4 quiet modules each side.
    side = image.size[0] // 4 - 8
    assert image.size[0] == image.size[1] and image.size[0] % 4 == 0
    assert (side - 17) % 4 == 0 and 1 <= (side - 17) // 4 <= 40


def _room(home: Path) -> tuple[Store, str]:
    store = Store(home)
    _, key = open_workspace(home, "room", "Pat")
    for who in ("Ana", "Ben"):  # runs that learn: one no better than guessing is not ranked
        join_workspace(home, "room", who)
        store.enqueue(make_config(dataset="wine", model="mlp", epochs=5),
                      workspace="room", owner=who)
        execute(store, store.claim(os.getpid()))
    store.enqueue(make_config(dataset="wine", model="logreg", epochs=2), workspace="room",
                  owner="-Ana")  # a name a spreadsheet would run, as a stored value could be
    return store, key


def _end(home: Path, store: Store, key: str) -> bytes:
    """What the presenter's End workshop does: the core's end, then the room's one
    download."""
    end_workshop(home, store, "room", key)
    return room_zip(store, load_workspace(home, "room"))


def test_the_rooms_export_has_every_run_with_its_person(app_home: Path):
    store, key = _room(app_home)
    data = _end(app_home, store, key)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == ["workshop-room-report.html", "workshop-room-runs.csv"]
        rows = list(csv.DictReader(io.StringIO(z.read("workshop-room-runs.csv").decode())))
        report = z.read("workshop-room-report.html").decode()
    runs = store.list_runs(workspace="room")
    assert sorted(r["run_id"] for r in rows) == sorted(r.id for r in runs)
    assert sorted(r["person"] for r in rows) == ["'-Ana", "Ana", "Ben"]
    assert {r["status"] for r in rows} == {"finished", "queued"}
    assert "Most accurate" in report and "Ana" in report and "Ben" in report


def test_ending_needs_the_presenter_key_and_closes_joining_and_queuing(app_home: Path):
    import pytest

    from playground.experiments.workshop import WorkshopError, submit_to_workspace

    store, key = _room(app_home)
    with pytest.raises(WorkshopError):
        end_workshop(app_home, store, "room", "not the key")
    assert load_workspace(app_home, "room").ended is None
    end_workshop(app_home, store, "room", key)
    ws = load_workspace(app_home, "room")
    with pytest.raises(WorkshopError, match="has ended"):
        join_workspace(app_home, "room", "Cleo")
    with pytest.raises(WorkshopError, match="has ended"):
        submit_to_workspace(store, ws, "Ana", make_config(dataset="wine", model="logreg"))


def test_after_the_end_the_page_says_so_and_offers_no_training(app_home: Path):
    store, key = _room(app_home)
    cleo = participant(app_home, "room", "Cleo")
    before = open_page("pages/workshop.py", query={"ws": "room"}, session=cleo)
    assert [b for b in before.button if b.key == "workshop_to_train"]
    end_workshop(app_home, store, "room", key)
    after = open_page("pages/workshop.py", query={"ws": "room"}, session=cleo)
    assert any("has ended" in w.value for w in after.warning)
    assert not [b for b in after.button if b.key == "workshop_to_train"]
    host = open_page("pages/workshop.py", query={"ws": "room"},
                     session={"workshop_name": "room", "workshop_key": key})
    assert any("has ended" in s.value for s in host.success)
    assert "workshop_lesson_dataset" not in [s.key for s in host.selectbox]
    assert "workshop_end_download" in [b.key for b in host.get("download_button")]


def test_the_projector_page_shows_the_boards_and_nothing_private(app_home: Path):
    store, key = _room(app_home)
    at = open_page("pages/projector.py", query={"ws": "room"})
    shown = " ".join(str(h.proto.body) for h in at.get("html"))
    # One board at a time, by the clock: whichever it is, its title and everyone on it.
    ws = load_workspace(app_home, "room")
    boards = [b for b in leaderboards(store.list_runs(("finished",), workspace="room"),
                                      ws.boards, "wine", ws=ws) if b.entries]
    board = next(b for b in boards if f'"pj-title">{b.title}<' in shown)
    assert {e.owner for e in board.entries} <= {"Ana", "Ben"} and board.entries
    assert all(f">{e.owner}<" in shown for e in board.entries)
    assert f"board {boards.index(board) + 1} of {len(boards)}" in shown
    assert key not in shown and "token" not in shown
    assert "Open the projector page" not in shown
    assert not at.get("text_input")  # no presenter panels


def test_the_projector_page_without_a_room_offers_the_open_ones(app_home: Path):
    open_workspace(app_home, "friday-class")
    at = open_page("pages/projector.py")
    assert at.selectbox(key="projector_workshop").options == ["friday-class"]


def test_the_projector_counts_one_person_in_the_singular(app_home: Path):
    open_workspace(app_home, "room", "Pat")
    join_workspace(app_home, "room", "Ana")
    shown = " ".join(str(h.proto.body) for h in
                     open_page("pages/projector.py", query={"ws": "room"}).get("html"))
    assert "1 person in the room" in shown
    join_workspace(app_home, "room", "Ben")
    shown = " ".join(str(h.proto.body) for h in
                     open_page("pages/projector.py", query={"ws": "room"}).get("html"))
    assert "2 people in the room" in shown


def test_only_the_presenter_is_told_the_server_answers_on_this_computer_alone(app_home: Path):
    from streamlit import config

    _, key = open_workspace(app_home, "room", "Pat")
    hint = "This server only answers on this computer"
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    try:
        host = open_page("pages/workshop.py", query={"ws": "room"},
                         session={"workshop_name": "room", "workshop_key": key})
        cleo = open_page("pages/workshop.py", query={"ws": "room"},
                         session=participant(app_home, "room", "Cleo"))
    finally:
        config.set_option("server.address", before)
    assert any(hint in c.value for c in host.caption)
    assert not any(hint in c.value for c in cleo.caption)
    assert "/workshop?ws=room" in [c.value for c in cleo.code]  # the link itself stays
