"""Every page with 300 finished runs and 4 training in the store (AppTest), and the charts
that polls must not rebuild. How fast the pages open is measured, not asserted: see
`make loadtest` and BENCHMARKS.md."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from playground.experiments.sweeps import Sweep, SweepRun, _write
from playground.experiments.workshop import join_workspace, open_workspace
from playground.runs.store import Store
from tests.app_support import open_page
from tests.many_runs import fill

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
WS = "room"


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Path:
    """One store for the module: 300 finished runs of 30 people in workshop `room`, and 4
    of them training."""
    home = tmp_path_factory.mktemp("crowded") / "home"
    store = Store(home)
    made = fill(store, finished=300, training=4, workspace=WS, people=30)
    open_workspace(home, WS)
    _, token = join_workspace(home, WS, "p01")  # the person the workshop tests are
    (home / "p01.token").write_text(token)
    runs = [SweepRun(run_id, [0.0, 0.2][i % 2], 0)
            for i, run_id in enumerate(made["finished"][:12])]
    _write(store, Sweep("crowd0", "dropout", [0.0, 0.2], [0],
                        {"dataset": "digits", "model": "mlp"}, 0.0, runs))
    return home


@pytest.fixture
def home(crowded: Path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(crowded))
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    yield crowded
    from components.base import services as shared

    shared._supervisor(str(crowded.resolve())).stop()
    shared._supervisor.clear()
    shared._store.clear()
    shared._feed.clear()


def in_room(home: Path) -> dict:
    """The session of participant p01 (who joined with a token)."""
    return {"workshop_name": WS, "workshop_token": (home / "p01.token").read_text()}


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "subheader")
                     for e in getattr(at, kind))


def test_runs_shows_the_training_ones_live_and_the_rest_a_page_at_a_time(home):
    at = open_page("pages/runs.py")
    # The local user has runs of their own outside the workshop: those first.
    assert at.segmented_control(key="runs_scope").value == "mine" and "Done (3)" in texts(at)
    at.segmented_control(key="runs_scope").set_value("everyone").run()
    page = texts(at)
    assert "Training and waiting (4)" in page and "Done (300)" in page
    assert "Runs 1–10 of 300 (page 1 of 30)" in page
    # The local user's buttons are on runs outside workshops, as ever; a workshop's runs
    # belong to its people and its presenter (here: all of the first page, all training).
    store = Store(home)
    first = store.list_runs(("finished", "failed", "cancelled", "interrupted"), limit=10)
    assert len(first) == 10 and {r.workspace for r in first} == {WS}
    assert [b for b in at.button if b.key.startswith(("runs_delete_", "runs_cancel_"))] == []
    assert len([b for b in at.button if b.key.startswith("runs_clone_")]) == 0
    at.button(key="runs_older").click().run()
    assert "Runs 11–20 of 300 (page 2 of 30)" in texts(at)
    assert not at.exception


def test_runs_in_a_workshop_shows_my_runs_or_everyone_in_it(home):
    at = open_page("pages/runs.py", session=in_room(home))
    page = texts(at)
    # p01 owns every 30th copy: 297 copies over 30 people, plus the training ones.
    store = Store(home)
    mine_done = store.count_runs(("finished",), workspace=WS, owner="p01")
    assert f"Done ({mine_done})" in page and mine_done == 10
    assert "by **p" not in page  # my own cards need no name
    at.segmented_control(key="runs_scope").set_value("everyone").run()
    page = texts(at)
    assert "Done (297)" in page  # the workshop's, not the three trained outside it
    table = at.dataframe[0].value
    assert len(table) == 50 and set(table["who"]) == {f"p{i:02d}" for i in range(30)}
    assert "by **p" in page  # the training ones name their owner
    assert "Runs 1–50 of 297 (page 1 of 6)" in page
    # Everyone's runs are to look at: no buttons on the cards of others' runs.
    others = [r.id for r in store.list_runs(("queued", "running"), workspace=WS)
              if r.owner != "p01"]
    assert others and not [b for b in at.button if b.key.startswith(("runs_cancel_",
                                                                     "runs_delete_"))]


@pytest.mark.parametrize("page", ["pages/compare.py", "pages/sweeps.py", "pages/explain.py",
                                  "pages/train.py", "pages/learn.py", "pages/your_data.py",
                                  "pages/stories.py"])
def test_every_page_opens_with_300_runs(home, page):
    at = open_page(page, timeout=120)
    assert not at.exception


def test_compare_puts_the_newest_two_side_by_side_among_300(home):
    at = open_page("pages/compare.py")
    assert len(at.multiselect(key="compare_runs").value) == 2
    assert len(at.multiselect(key="compare_runs").options) == 300
    at.toggle(key="compare_pareto_all").set_value(True).run()
    assert not at.exception


def test_the_workshop_boards_rank_thirty_people(home):
    at = open_page("pages/workshop.py", session=in_room(home))
    boards = [t.value for t in at.table]
    assert boards and len(boards[0]) == 10  # the top ten people on the first board
    assert "Your runs in progress" in texts(at)


def test_the_sweep_page_draws_the_curve_of_its_runs(home):
    at = open_page("pages/sweeps.py")
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert "All 12 runs finished." in texts(at)
    assert any("Dropout" in s and "rate" in s for s in specs)  # the curve over the knob


def test_a_chart_is_not_rebuilt_when_no_new_epoch_arrived(app_home, monkeypatch):
    """The live card's curves come from the per-server chart cache: a poll that finds the
    same epochs builds nothing; a new epoch builds the curves again."""
    from components.base import chart_cache
    from components.base.services import refresh_live
    from playground.results import charts
    from playground.training.config import make_config

    store = Store(app_home)
    run_id = store.enqueue(make_config(dataset="moons", model="mlp", epochs=5))
    store.claim(os.getpid())
    values = {"val_accuracy": 0.5, "train_accuracy": 0.5, "val_loss": 1.0, "train_loss": 1.0}
    store.add_epoch(run_id, 1, values, 0.2)
    built = []
    real = charts.curves_frame
    monkeypatch.setattr(charts, "curves_frame", lambda *a, **k: built.append(1) or real(*a, **k))
    chart_cache._spec.clear()

    at = open_page("pages/runs.py")
    assert len(built) == 1 and len(list(at.get("vega_lite_chart"))) == 2  # both curves
    at.run()  # a poll, nothing new
    open_page("pages/runs.py")  # another session, nothing new
    assert len(built) == 1
    store.add_epoch(run_id, 2, {k: v * 0.9 for k, v in values.items()}, 0.4)
    refresh_live()
    at.run()
    assert len(built) == 2


CHARTS = '''
import streamlit as st
from components.base.chart_cache import cached_chart
from components.runs.run_card import curves
from playground.results import charts
from playground.training.config import make_config
from playground.runs.store import Run
epochs = [{"run_id": "r", "epoch": i, "val_accuracy": i / 10, "train_accuracy": i / 9,
           "val_loss": 1 / i, "train_loss": 1 / i} for i in range(1, 6)]
for metric in ("accuracy", "loss"):
    st.altair_chart(charts.learning_curves_chart(epochs, {"r": "r"}, metric))
run = Run("r", "running", make_config(dataset="moons", model="mlp"), 0.0)
curves(run, epochs, "test")
make = lambda: charts.learning_curves_chart(epochs, {"r": "r"}, "accuracy")
cached_chart(("test", 1), make)
cached_chart(("test", 1), make)
'''


def test_cached_charts_reach_the_browser_as_st_altair_chart_sends_them(app_home):
    """The cache uses Streamlit's own conversion, and the live curves swap only the data
    into a template: what is sent is identical to st.altair_chart's."""
    at = AppTest.from_string(CHARTS, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    acc, loss, live_acc, live_loss, cached, again = (c.proto for c in at.get("vega_lite_chart"))
    for plain, proto in ((acc, live_acc), (loss, live_loss), (acc, cached), (acc, again)):
        assert proto.spec == plain.spec and proto.theme == plain.theme
        assert [(d.name, d.data.data) for d in proto.datasets] == \
            [(d.name, d.data.data) for d in plain.datasets]
        assert proto.datasets and proto.datasets[0].data.data  # the data did travel


def test_home_opens_with_300_runs_and_queues_its_story_once(home):
    # Last in this module: it queues the story's runs into the shared store.
    store = Store(home)
    before = store.count_runs()
    at = open_page("pages/home.py", timeout=120)
    open_page("pages/home.py", timeout=120)  # a second visitor queues nothing more
    assert store.count_runs() - before == 3  # the story's three runs
    assert "Privacy costs accuracy" in [h.value for h in at.header]
