"""The workshop's room: names compared as a reader sees them, honest boards (the workshop's δ,
nothing ranked at chance level, ties by time, removed people marked), End workshop and the
room's export, the server's limits, the workspace file's mode, and the CLI round trip."""
from __future__ import annotations

import csv
import io
import os
import stat
import unicodedata
import zipfile
from pathlib import Path

import pytest
from confusable_homoglyphs import categories, confusables
from scipy.stats import binomtest

from playground.cli.main import main
from playground.common.names import mixed_scripts, name_key, same_name, skeleton
from playground.experiments.leaderboards import beats_chance, leaderboards
from playground.experiments.room_export import room_csv, room_report, room_zip
from playground.experiments.workshop import (
    Boards,
    RoomSettings,
    WorkshopError,
    clean_display_name,
    end_workshop,
    honest_delta,
    join_workspace,
    load_workspace,
    open_workspace,
    remove_person,
    submit_as,
    training_examples,
    update_workspace,
)
from playground.runs.store import Run, Store
from playground.runs.worker import execute
from playground.training.config import make_config
from playground.training.techniques.dp import DELTA, EPSILON

# -- names -----------------------------------------------------------------------------------


def test_lookalike_names_are_the_same_name(home: Path):
    open_workspace(home, "room", "Ms Lee")
    join_workspace(home, "room", "Ben")
    for fake in ("Веn", "Ben.", " BEN ", "B.E.N", "ｂｅｎ", "𝐁𝐞𝐧"):  # Cyrillic В and е first
        with pytest.raises(WorkshopError):
            join_workspace(home, "room", fake)
    with pytest.raises(WorkshopError, match="is taken in this workshop"):
        join_workspace(home, "room", " BEN ")
    with pytest.raises(WorkshopError, match="one alphabet"):
        join_workspace(home, "room", "Веn")
    # Nobody else may appear as the presenter: their name, or the word itself.
    for name in ("Presenter", "presenter.", "Ms. Lee", "MS LEE"):
        with pytest.raises(WorkshopError, match="kept for the presenter"):
            join_workspace(home, "room", name)
    assert [p.name for p in load_workspace(home, "room").people] == ["Ben"]
    join_workspace(home, "room", "Ken")  # different names still join
    join_workspace(home, "room", "Бен")  # one alphabet, not a lookalike of Ben: a name


def test_one_alphabet_per_name_as_unicode_counts_them():
    assert mixed_scripts("Веn") and mixed_scripts("pаypаl")  # Cyrillic among Latin
    assert not mixed_scripts("Zoë O'Neil") and not mixed_scripts("Борис")
    assert not mixed_scripts("山田 たろう") and not mixed_scripts("김 Kim")  # CJK as written
    with pytest.raises(WorkshopError, match="one alphabet"):
        clean_display_name("Αnna")  # a Greek capital alpha
    with pytest.raises(WorkshopError, match="at least one letter or digit"):
        clean_display_name("...")


def test_the_skeleton_follows_unicodes_confusables_table():
    # The lookalike pairs of Unicode's table, as the kept package stores them, share one
    # skeleton: every pair of plain letters from the alphabets people's names use, and all
    # but a handful of the rest (accented pairs the package keeps only composed, as the
    # comments of Unicode's file draw them).
    marks = str.maketrans("", "", "\u200e\u200f")
    pairs = [(k.translate(marks), e["c"].translate(marks))
             for k, found in confusables.confusables_data.items() for e in found]
    assert len(pairs) > 10_000
    differ = [(a, b) for a, b in pairs if skeleton(a) != skeleton(b)]
    assert len(differ) < 0.005 * len(pairs)
    alphabets = {"LATIN", "GREEK", "CYRILLIC"}
    letters = [(a, b) for a, b in pairs if len(a) == len(b) == 1 and all(
        unicodedata.category(c)[0] == "L" and categories.alias(c) in alphabets
        and unicodedata.normalize("NFD", c) == c for c in a + b)]  # plain letters
    assert len(letters) > 300
    assert [(a, b) for a, b in letters if skeleton(a) != skeleton(b)] == []
    # UTS #39's own example: "m" reads as "r" "n"; and different names stay different.
    assert same_name("Mary", "rnary") and same_name("paypal", "pаypаl")
    assert same_name("ALICE", "Alice") and same_name("ВЕN", "ben")  # case either side
    assert not same_name("Ben", "Ken") and not same_name("Ana", "Anna")
    assert name_key("Zoë") != name_key("Zoe")  # an accent makes another name


# -- honest boards -----------------------------------------------------------------------------


def finished_run(run_id: str, owner: str, accuracy: float, finished: float, *, private=False,
                 epsilon=None, delta=None, per_class: int = 10) -> Run:
    """A finished digits run whose confusion matrix (10 balanced classes) gives `accuracy`."""
    n = 10 * per_class
    right = round(accuracy * n)
    matrix = [[0] * 10 for _ in range(10)]
    for i in range(n):
        c = i % 10
        matrix[c][c if i < right else (c + 1) % 10] += 1
    metrics = {"accuracy": right / n, "size_bytes": 10_000, "latency_ms": 0.1,
               "confusion_matrix": matrix}
    if epsilon is not None:
        metrics[EPSILON.key], metrics[DELTA.key] = epsilon, delta
    config = make_config(dataset="digits", model="mlp", dp_noise=1.0 if private else None)
    return Run(run_id, "finished", config, created=finished - 1, finished=finished,
               metrics=metrics, workspace="room", owner=owner)


def test_a_run_no_better_than_chance_is_not_ranked():
    guess = finished_run("g", "Gus", 0.10, 1.0)  # 10 classes: what guessing scores
    lucky = finished_run("l", "Lu", 0.14, 2.0)  # a little above, within luck on 100
    learnt = finished_run("k", "Kim", 0.40, 3.0)
    # The rule is the one-sided binomial test against the commonest class's share.
    assert binomtest(14, 100, 0.1, alternative="greater").pvalue > 0.01
    assert [beats_chance(r) for r in (guess, lucky, learnt)] == [False, False, True]
    boards = leaderboards([guess, lucky, learnt], Boards(accuracy_min=0.0), "digits")
    for board in boards:
        assert {e.owner for e in board.entries} <= {"Kim"}
    assert boards[0].left_out == ["2 runs no better than guessing left out"]


def test_ties_go_to_whoever_got_there_first_and_one_score_column_is_named():
    late = finished_run("late", "Ann", 0.9, 50.0)
    early = finished_run("early", "Bo", 0.9, 10.0)
    again = finished_run("again", "Bo", 0.9, 60.0)  # Bo's equal second run: the first counts
    board = leaderboards([late, again, early], Boards(), "digits")[0]
    assert [(e.owner, e.run_id) for e in board.entries] == [("Bo", "early"), ("Ann", "late")]
    rows = board.rows(me="Ann")
    assert list(rows[0]) == ["#", "who", "run", "Accuracy"]
    assert rows[1]["who"] == "Ann  ← you" and rows[1]["Accuracy"] == "90.0%"


def test_the_privacy_board_takes_only_the_workshops_delta_and_shows_it():
    n = training_examples(make_config(dataset="digits", model="mlp"))
    fair = honest_delta(n)
    assert fair <= 1 / (10 * n)  # well below 1/n
    honest = finished_run("h", "Hal", 0.9, 1.0, private=True, epsilon=2.5, delta=fair)
    gamed = finished_run("x", "Xi", 0.95, 2.0, private=True, epsilon=1.58, delta=0.05)
    board = next(b for b in leaderboards([honest, gamed], Boards(), "digits")
                 if b.key == EPSILON.key)
    assert [e.owner for e in board.entries] == ["Hal"] and board.privacy
    assert board.left_out == ["1 run with a larger δ than the workshop's left out"]
    (row,) = board.rows()
    assert row[EPSILON.column] == "2.50" and row["δ"] == DELTA.format(fair)
    # The presenter lowers δ: a run with the data's own δ no longer qualifies.
    lower = Boards(delta_max=fair / 10)
    assert lower.delta(n) == fair / 10
    board = next(b for b in leaderboards([honest], lower, "digits") if b.key == EPSILON.key)
    assert board.entries == []


def test_a_participants_own_delta_is_replaced_by_the_workshops(home: Path):
    store = Store(home)
    _, key = open_workspace(home, "room")
    ada, _ = join_workspace(home, "room", "Ada")
    config = make_config(dataset="digits", model="mlp", dp_noise=1.0, dp_delta=5e-4)
    run = store.get(submit_as(store, ada, config).run_id)
    n = training_examples(config)
    assert DELTA.value(run.config.techniques[next(iter(run.config.techniques))]) \
        == honest_delta(n) < 1 / n
    update_workspace(home, "room", key, boards=Boards(delta_max=1e-7))
    run = store.get(submit_as(store, ada, config).run_id)
    assert DELTA.value(run.config.techniques[next(iter(run.config.techniques))]) == 1e-7
    with pytest.raises(WorkshopError, match="above 0 and below 1"):
        update_workspace(home, "room", key, boards=Boards(delta_max=2.0))


def test_removed_people_are_marked_on_every_board(home: Path):
    store = Store(home)
    _, key = open_workspace(home, "room")
    fake, _ = join_workspace(home, "room", "Ben")
    run = finished_run("f", "Ben", 0.99, 1.0, private=True, epsilon=1.0,
                       delta=honest_delta(training_examples(make_config(dataset="digits",
                                                                        model="mlp"))))
    rid = store.enqueue(run.config, workspace="room", owner="Ben")
    store.claim(os.getpid())
    store.finish(rid, run.metrics, "cpu")
    remove_person(home, store, "room", key, fake.person)
    ws = load_workspace(home, "room")
    boards = leaderboards(store.list_runs(("finished",)), ws.boards, "digits", ws=ws)
    for board in boards:
        (entry,) = board.entries
        assert entry.removed and entry.owner == "Ben"
        assert board.rows()[0]["who"] == "Ben (removed)"


# -- the end of the workshop and its export --------------------------------------------------


def test_end_closes_joining_and_queuing_and_the_export_holds_every_run(home: Path):
    store = Store(home)
    _, key = open_workspace(home, "room", "Pat")
    ada, _ = join_workspace(home, "room", "Ada")
    dash, _ = join_workspace(home, "room", "-Dash")  # a name a spreadsheet would run
    presenter = load_workspace(home, "room").actor(key=key)
    for who in (ada, dash, presenter):
        run_id = submit_as(store, who, make_config(dataset="moons", model="logreg",
                                                   epochs=1)).run_id
        execute(store, store.claim(os.getpid()))
        assert store.get(run_id).status == "finished"
    # A run recorded under a formula-like owner (an older file, another tool).
    store.enqueue(make_config(dataset="moons", model="logreg", epochs=1), workspace="room",
                  owner="=HYPERLINK(\"http://x\")")
    with pytest.raises(WorkshopError, match="only the presenter can end"):
        end_workshop(home, store, "room", "guess")
    ws = end_workshop(home, store, "room", key)
    assert ws.ended is not None and end_workshop(home, store, "room", key).ended == ws.ended
    with pytest.raises(WorkshopError, match="has ended: it takes no new people"):
        join_workspace(home, "room", "Late")
    for who in (ada, presenter):
        with pytest.raises(WorkshopError, match="has ended: it takes no new runs"):
            submit_as(store, who, make_config(dataset="moons", model="logreg", epochs=1))
    assert store.count_runs(workspace="room") == 4

    rows = list(csv.DictReader(io.StringIO(room_csv(store, ws))))
    assert sorted(r["run_id"] for r in rows) == sorted(r.id for r in store.list_runs())
    assert {r["person"] for r in rows} == {"Ada", "'-Dash", "Pat", "'=HYPERLINK(\"http://x\")"}
    assert {EPSILON.key, "deployed_accuracy", "status", "label"} <= set(rows[0])
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or _number(cell), cell
    report = room_report(store, ws)
    assert "Leaderboards on moons" in report and "Most accurate" in report
    assert "=HYPERLINK(&quot;http://x&quot;)" in report and '"http://x"' not in report
    with zipfile.ZipFile(io.BytesIO(room_zip(store, ws))) as z:
        assert sorted(z.namelist()) == ["workshop-room-report.html", "workshop-room-runs.csv"]


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# -- the server's limits and the file's mode ---------------------------------------------------


def test_people_and_open_workshops_are_capped(home: Path):
    settings = RoomSettings(max_people=2, max_open=2)
    store = Store(home)
    _, key = open_workspace(home, "one", settings=settings)
    open_workspace(home, "two", settings=settings)
    with pytest.raises(WorkshopError, match="2 workshops open, its limit"):
        open_workspace(home, "three", settings=settings)
    end_workshop(home, store, "two", None, operator=True)  # an ended one frees its place
    open_workspace(home, "three", settings=settings)
    join_workspace(home, "one", "Ada", settings=settings)
    join_workspace(home, "one", "Bo", settings=settings)
    with pytest.raises(WorkshopError, match="is full \\(2 people"):
        join_workspace(home, "one", "Cy", settings=settings)
    size = (home / "workshops" / "one.json").stat().st_size
    for _ in range(20):  # refused joins don't grow the file
        with pytest.raises(WorkshopError):
            join_workspace(home, "one", "Cy", settings=settings)
    assert (home / "workshops" / "one.json").stat().st_size == size


def test_the_workspace_file_stays_private_on_every_write(home: Path):
    store = Store(home)
    _, key = open_workspace(home, "room")
    path = home / "workshops" / "room.json"

    def mode() -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode() == 0o600
    ada, _ = join_workspace(home, "room", "Ada")
    assert mode() == 0o600
    update_workspace(home, "room", key, boards=Boards(0.9))
    assert mode() == 0o600
    remove_person(home, store, "room", key, ada.person)
    assert mode() == 0o600
    end_workshop(home, store, "room", key)
    assert mode() == 0o600
    assert stat.S_IMODE((home / "workshops").stat().st_mode) == 0o700


# -- the command line ----------------------------------------------------------------------------


def test_the_cli_opens_joins_ends_and_exports(home: Path, tmp_path: Path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "workshop", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("open", "Friday Class", "--presenter", "Ms Lee")
    assert code == 0 and "opened workshop friday-class" in out
    key = out.split("shown once): ")[1].split()[0]
    assert load_workspace(home, "friday-class").is_presenter_key(key)
    code, out, _ = run("open", "friday-class")
    assert code == 2
    code, out, _ = run("join", "friday-class", "--name", "Ben", "--json")
    token = __import__("json").loads(out)["token"]
    assert code == 0 and load_workspace(home, "friday-class").person_for_token(token).name \
        == "Ben"
    code, _, err = run("join", "friday-class", "--name", "Веn")
    assert code == 2 and "error: your name: write it in one alphabet" in err
    store = Store(home)
    ben = load_workspace(home, "friday-class").actor(token=token)
    submit_as(store, ben, make_config(dataset="moons", model="logreg", epochs=1))
    execute(store, store.claim(os.getpid()))
    code, out, _ = run("end", "friday-class")
    assert code == 0 and "nobody can join it or queue in it now" in out
    code, _, err = run("join", "friday-class", "--name", "Cy")
    assert code == 2 and "has ended" in err
    code, out, _ = run("export", "friday-class", "--out", str(tmp_path / "room"))
    assert code == 0
    rows = list(csv.DictReader(open(tmp_path / "room" / "workshop-friday-class-runs.csv")))
    assert [(r["person"], r["status"]) for r in rows] == [("Ben", "finished")]
    assert (tmp_path / "room" / "workshop-friday-class-report.html").exists()
    code, _, err = run("export", "nope", "--out", str(tmp_path / "x"))
    assert code == 2 and "no workshop called 'nope'" in err
    code, _, err = run("end", "nope")
    assert code == 2
