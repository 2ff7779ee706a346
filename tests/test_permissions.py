"""Who may do what in a room: participants are people with private tokens, names
are unique in a workshop, and every action that changes something (queue, cancel, delete,
clone, upload, delete an upload) is checked in the core: a participant on their own things,
allowed; on another's, refused with a message and nothing changed; the presenter, allowed
in their workshop and refused outside it; the local user outside workshops, as ever.
Runs are only queued here, never trained: the checks are about rows, not models."""
from __future__ import annotations

import tomllib
from dataclasses import asdict
from pathlib import Path

import pytest

from playground.common.permissions import LOCAL, Actor, Place, Refused, may
from playground.data import uploads
from playground.experiments.sweeps import plan_sweep, start_sweep
from playground.experiments.workshop import (
    WorkshopError,
    join_workspace,
    load_workspace,
    open_workspace,
    remove_person,
    rename_person,
    submit_as,
)
from playground.runs.store import Store
from playground.training.config import make_config
from tests.test_uploads import good_csv

ROOT = Path(__file__).resolve().parent.parent
CONFIG = make_config(dataset="moons", model="logreg", epochs=1)


@pytest.fixture
def room(home: Path):
    """Workshop 'room' (presenter Pat) with Alice and Bob, workshop 'other' with Carl, and
    one queued run each, plus one outside any workshop."""
    store = Store(home)
    _, key = open_workspace(home, "room", "Pat")
    open_workspace(home, "other")
    alice, alice_token = join_workspace(home, "room", "Alice")
    bob, _ = join_workspace(home, "room", "Bob")
    carl, _ = join_workspace(home, "other", "Carl")
    presenter = load_workspace(home, "room").actor(key=key)
    runs = {"alice": store.enqueue(CONFIG, workspace="room", owner="Alice"),
            "bob": store.enqueue(CONFIG, workspace="room", owner="Bob"),
            "carl": store.enqueue(CONFIG, workspace="other", owner="Carl"),
            "outside": store.enqueue(CONFIG)}
    return {"store": store, "home": home, "key": key, "alice": alice, "bob": bob,
            "carl": carl, "presenter": presenter, "alice_token": alice_token, "runs": runs}


# Who acts, on whose run, and whether they may: every line of the table.
CASES = [
    ("alice", "alice", True),  # a participant on their own run
    ("alice", "bob", False),  # ... on another's
    ("alice", "outside", False),  # ... on a run outside the workshop
    ("presenter", "bob", True),  # the presenter, within the workshop
    ("presenter", "carl", False),  # ... on another workshop's run
    ("presenter", "outside", False),  # ... on a run outside workshops
    ("local", "outside", True),  # the local user outside workshops, as today
    ("local", "alice", False),  # ... a workshop's run belongs to the room
]


def _actor(room, who: str) -> Actor:
    return LOCAL if who == "local" else room[who]


@pytest.mark.parametrize("who,whose,allowed", CASES)
def test_cancel_only_what_is_yours_to_cancel(room, who, whose, allowed):
    store, run_id = room["store"], room["runs"][whose]
    before = asdict(store.get(run_id))
    if allowed:
        assert store.cancel(run_id, _actor(room, who)) == "cancelled"
        assert store.get(run_id).status == "cancelled"
    else:
        with pytest.raises(Refused, match="only|can act only|belongs to workshop") as exc:
            store.cancel(run_id, _actor(room, who))
        assert asdict(store.get(run_id)) == before  # nothing changed
        assert exc.value.problem.endswith(".")


@pytest.mark.parametrize("who,whose,allowed", CASES)
def test_delete_only_what_is_yours_to_delete(room, who, whose, allowed):
    store, run_id = room["store"], room["runs"][whose]
    store.artifact_dir(run_id).mkdir(parents=True, exist_ok=True)
    before = asdict(store.get(run_id))
    if allowed:
        store.remove(run_id, _actor(room, who))
        assert store.get(run_id) is None and not store.artifact_dir(run_id).exists()
    else:
        with pytest.raises(Refused):
            store.remove(run_id, _actor(room, who))
        assert asdict(store.get(run_id)) == before and store.artifact_dir(run_id).exists()


@pytest.mark.parametrize("who,whose,allowed", CASES)
def test_clone_only_what_is_yours_to_clone(room, who, whose, allowed):
    store, run_id = room["store"], room["runs"][whose]
    count = store.count_runs()
    if allowed:
        assert store.checked_get(run_id, _actor(room, who), "clone").id == run_id
    else:
        with pytest.raises(Refused, match="only|can act only|belongs to workshop"):
            store.checked_get(run_id, _actor(room, who), "clone")
    assert store.count_runs() == count


def test_refusals_name_the_problem_and_what_to_do(room):
    store, runs = room["store"], room["runs"]
    with pytest.raises(Refused) as exc:
        store.cancel(runs["bob"], room["alice"])
    assert exc.value.problem == (f"Run {runs['bob']} is Bob's: only Bob or the presenter can "
                                 "cancel it. You can still look at it and compare it with "
                                 "yours.")
    with pytest.raises(Refused, match="Leave the workshop to manage runs outside it"):
        store.remove(runs["outside"], room["presenter"])
    with pytest.raises(Refused, match="Join the workshop with your personal link"):
        store.remove(runs["alice"], LOCAL)
    with pytest.raises(Refused, match="There is no run nope any more"):
        store.cancel("nope", LOCAL)


def test_queue_as_yourself_in_your_own_workshop(room):
    store, home = room["store"], room["home"]
    alice, presenter = room["alice"], room["presenter"]
    mine = store.get(submit_as(store, alice, CONFIG).run_id)
    assert (mine.workspace, mine.owner) == ("room", "Alice")
    theirs = store.get(submit_as(store, presenter, CONFIG).run_id)
    assert (theirs.workspace, theirs.owner) == ("room", "Pat")
    alone = store.get(submit_as(store, LOCAL, CONFIG).run_id)
    assert (alone.workspace, alone.owner) == (None, None)  # outside workshops, as today
    # Queueing for someone else, or somewhere else, is refused by the same rule.
    assert may(alice, "queue", Place("room", "Bob")) == (
        "You can queue runs only as yourself (Alice), not as Bob.")
    assert "only there, not workshop other" in may(presenter, "queue", Place("other", "Pat"))
    assert "not outside this workshop" in may(presenter, "queue", Place(None, None))
    assert "join it with your personal link" in may(LOCAL, "queue", Place("room", None))
    # A participant the presenter removed can't queue with an old session's identity.
    count = store.count_runs()
    remove_person(home, store, "room", room["key"], room["bob"].person)
    with pytest.raises(Refused, match="You are no longer in workshop room"):
        submit_as(store, room["bob"], CONFIG)
    assert store.count_runs() == count


def test_in_a_workshop_only_the_presenter_sweeps_and_into_the_room(room):
    store = room["store"]
    plan = plan_sweep({"dataset": "moons", "model": "logreg", "epochs": 1}, "seed", "0,1")
    count = store.count_runs()
    with pytest.raises(Refused, match="only the presenter can start one"):
        start_sweep(store, plan, room["alice"])
    assert store.count_runs() == count
    sweep = start_sweep(store, plan, room["presenter"])
    assert {(store.get(r.run_id).workspace, store.get(r.run_id).owner)
            for r in sweep.runs} == {("room", "Pat")}


def _upload(name: str, home: Path, actor: Actor) -> Path:
    return uploads.save(uploads.prepare(good_csv(), f"{name}.csv", "label", name), home, actor)


def test_uploads_are_their_uploaders_and_the_presenters(room):
    home, alice, bob, presenter = room["home"], room["alice"], room["bob"], room["presenter"]
    _upload("alices", home, alice)
    _upload("bobs", home, bob)
    _upload("carls", home, room["carl"])
    _upload("locals", home, LOCAL)
    manifest = {m["name"]: m for m in uploads.manifests(home)}
    assert (manifest["alices"]["workspace"], manifest["alices"]["owner"]) == ("room", "Alice")
    assert (manifest["locals"]["workspace"], manifest["locals"]["owner"]) == (None, None)
    folder = uploads.data_root(home)

    def refused(name: str, actor: Actor, match: str) -> None:
        files = sorted(p.name for p in (folder / name).iterdir())
        with pytest.raises(Refused, match=match):
            uploads.delete(name, actor, home)
        assert sorted(p.name for p in (folder / name).iterdir()) == files

    # Uploading over another's upload (its name) is refused; theirs stays as it was.
    before = (folder / "alices" / uploads.MANIFEST_FILE).read_text()
    with pytest.raises(uploads.UploadError, match="already exists"):
        _upload("alices", home, bob)
    assert (folder / "alices" / uploads.MANIFEST_FILE).read_text() == before
    refused("alices", bob, "The dataset 'alices' is Alice's: only Alice or the presenter "
                           "can delete it. You can still train on it.")
    refused("carls", presenter, "can act only on what is in it")
    refused("locals", presenter, "can act only on what is in it")
    refused("bobs", LOCAL, "belongs to workshop room")
    uploads.delete("alices", alice, home)  # their own
    uploads.delete("bobs", presenter, home)  # the presenter, in the workshop
    uploads.delete("locals", LOCAL, home)  # outside workshops, as today
    assert [m["name"] for m in uploads.manifests(home)] == ["carls"]
    with pytest.raises(Refused, match="no uploaded dataset called 'alices'"):
        uploads.delete("alices", alice, home)


# -- people: tokens, unique names, rename, remove -----------------------------------------------


def test_a_name_is_one_person_and_the_token_is_who_you_are(room):
    home, token = room["home"], room["alice_token"]
    text = (home / "workshops" / "room.json").read_text()
    assert token not in text and token.split(".", 1)[1] not in text  # stored hashed
    ws = load_workspace(home, "room")
    assert ws.actor(token=token) == room["alice"]
    assert ws.actor(token=token[:-1] + ("x" if token[-1] != "x" else "y")) is None
    assert ws.actor(token="") is None and ws.actor(token="nodot") is None
    assert ws.actor(key="guess") is None
    for taken in ("Alice", "alice", "  ALICE "):
        with pytest.raises(WorkshopError, match="is taken in this workshop. If it is yours, "
                                                "open your personal link"):
            join_workspace(home, "room", taken)
    with pytest.raises(WorkshopError, match="is kept for the presenter"):
        join_workspace(home, "room", "pat")  # the presenter's name too
    again, same = join_workspace(home, "room", "Alice", token=token)  # coming back
    assert (again, same) == (room["alice"], token)
    assert len(load_workspace(home, "room").people) == 2
    # Another workshop has its own names.
    assert join_workspace(home, "other", "Alice")[0].workspace == "other"


def test_names_with_markup_are_refused_at_the_door(room):
    for bad in ("**Bob**", "<b>Bob</b>", "[Bob](javascript:x)", "Bob_`x`"):
        with pytest.raises(WorkshopError, match="use letters, digits, spaces, dots, dashes "
                                                "and apostrophes only"):
            join_workspace(room["home"], "room", bad)
    assert join_workspace(room["home"], "room", "Zoë O'Neil")[0].name == "Zoë O'Neil"


def test_the_presenter_renames_and_removes_people(room):
    home, store, key, runs = room["home"], room["store"], room["key"], room["runs"]
    alice, token = room["alice"], room["alice_token"]
    with pytest.raises(WorkshopError, match="only the presenter can rename"):
        rename_person(home, store, "room", "guess", alice.person, "Al")
    with pytest.raises(WorkshopError,
                       match="the name 'bob' is taken in this workshop; pick another"):
        rename_person(home, store, "room", key, alice.person, "bob")
    rename_person(home, store, "room", key, alice.person, "Ally")
    renamed = load_workspace(home, "room").actor(token=token)
    assert renamed.name == "Ally" and store.get(runs["alice"]).owner == "Ally"
    assert store.cancel(runs["alice"], renamed) == "cancelled"  # still hers

    finished = store.enqueue(CONFIG, workspace="room", owner="Bob")
    store.claim_run(finished, 1)
    store.finish(finished, {"accuracy": 0.9}, "cpu")
    remove_person(home, store, "room", key, room["bob"].person)
    assert store.get(runs["bob"]).status == "cancelled"  # waiting: cancelled
    assert store.get(finished).status == "finished"  # ended: kept for the presenter
    assert store.get(finished).owner == "Bob (removed)"
    # The name is free again, but a newcomer called Bob gets none of the old Bob's runs.
    newcomer, _ = join_workspace(home, "room", "Bob")
    assert may(newcomer, "delete", store.get(finished)) is not None
    assert may(room["presenter"], "delete", store.get(finished)) is None


# -- the server's settings for a room -------------------------------------------------------------


def test_room_settings_in_the_streamlit_config():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    # Streamlit's enableCORS=true is CORS *protection*: no cross-origin access.
    assert server["enableCORS"] is True
    assert server["maxUploadSize"] * 2**20 <= uploads.MAX_UPLOAD_BYTES


def test_joining_a_workshop_that_is_not_there_says_so(home: Path):
    with pytest.raises(WorkshopError, match="no workshop called 'nope' on this server"):
        join_workspace(home, "nope", "Alice")
