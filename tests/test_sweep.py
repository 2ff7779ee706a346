"""Sweeps: exactly the requested runs, identical but for the varied setting; trained for
real; the CLI; the Train page's sweep control and the Sweeps page through AppTest."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground.experiments.sweeps import (
    MAX_RUNS,
    SweepError,
    get_sweep,
    knobs,
    list_sweeps,
    parse_values,
    plan_sweep,
    seed_verdicts,
    start_sweep,
    sweep_of_run,
    sweep_rows,
)
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config, shorthands
from playground.training.metrics import ACCURACY
from tests.app_support import open_page, plain

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
TINY = {"dataset": "moons", "model": "logreg", "epochs": 1, "seed": 4}


def _without(dump: dict, knob: str) -> dict:
    """A config dump minus the varied setting (a field, or a technique's parameter)."""
    dump = json.loads(json.dumps(dump))
    if knob in dump:
        dump.pop(knob)
    else:
        tech, param = shorthands()[knob]
        dump["techniques"].get(tech, {}).pop(param, None)
    return dump


def _train_queued(store: Store) -> None:
    while (run := store.claim(os.getpid())) is not None:
        execute(store, run)


# -- values ----------------------------------------------------------------------------

def test_values_as_lists_ranges_and_off():
    assert parse_values("dp_noise", "0, 0.5,1,2") == [0.0, 0.5, 1.0, 2.0]
    assert parse_values("epochs", "2:10:4") == [2, 6, 10]
    assert parse_values("dropout", "0:0.3:0.1") == [0.0, 0.1, 0.2, 0.3]
    assert parse_values("quantize", "off, int8, fp16") == ["off", "int8", "fp16"]
    assert parse_values("width", "8,16") == [8, 16]


@pytest.mark.parametrize("knob,text,words", [
    ("epochs", "1.5,2", "whole numbers"),
    ("dp_noise", "0,abc", "'abc' is not a number"),
    ("dp_noise", "1,1", "listed twice"),
    ("epochs", "10:2:1", "start <= stop"),
    ("epochs", "1:2", "start:stop:step"),
    ("epochs", "1:1000:1", f"at most {MAX_RUNS}"),
    ("epochs", "off", "can't be switched off"),
    ("colour", "1,2", "can't be swept"),
    ("epochs", " ", "give values"),
])
def test_bad_values_are_refused_in_words(knob, text, words):
    with pytest.raises(SweepError) as err:
        parse_values(knob, text)
    assert words in " ".join(err.value.problems)


def test_every_knob_has_a_plan_or_a_clear_refusal():
    for knob in knobs():
        if knob == "seed":
            continue
        try:
            plan = plan_sweep(dict(TINY, dataset="digits", model="mlp"), knob, "off"
                              if knob in shorthands() else "1", seeds=1)
        except SweepError as exc:
            assert all(p.startswith(f"{knob}=") or p.startswith(knob) for p in exc.problems)
        else:
            assert plan.size == 1


def test_invalid_values_name_the_value_and_the_rule():
    with pytest.raises(SweepError) as err:
        plan_sweep(TINY, "epochs", "0,1")
    assert err.value.problems == ["epochs=0: epochs: must be at least 1 (you gave 0)"]
    with pytest.raises(SweepError):
        plan_sweep(TINY, "seed", "1,2", seeds=2)


# -- queueing exactly the requested runs -------------------------------------------------

def test_sweep_queues_exactly_the_requested_runs_equal_but_for_the_knob(tmp_path):
    store = Store(tmp_path / "home")
    base = dict(TINY, dropout=0.1, dp_clip=2.0)
    plan = plan_sweep(base, "dp_noise", "0.5,1,2", seeds=2)
    sweep = start_sweep(store, plan)
    runs = store.list_runs()
    assert len(runs) == 6 and {r.status for r in runs} == {"queued"}
    assert {r.run_id for r in sweep.runs} == {r.id for r in runs}
    assert sorted((r.value, r.seed) for r in sweep.runs) == sorted(
        (v, s) for v in (0.5, 1.0, 2.0) for s in (4, 5))

    by_id = {r.id: r for r in runs}
    reference = make_config(**base).model_dump()
    for entry in sweep.runs:
        config = by_id[entry.run_id].config
        assert config.techniques["dp"]["noise_multiplier"] == entry.value
        assert config.seed == entry.seed
        # Everything else is the base setup, exactly.
        assert _without(config.model_dump(), "dp_noise") | {"seed": 0} == \
            _without(reference, "dp_noise") | {"seed": 0}

    # Train them for real: each finished run carries the setting it was queued with.
    _train_queued(store)
    rows = sweep_rows(store, get_sweep(store, sweep.id))
    assert [r["status"] for r in rows] == ["finished"] * 6
    for row in rows:
        run = store.get(row["run_id"])
        assert run.config.techniques["dp"]["noise_multiplier"] == row["value"]
        assert row["epsilon"] == run.metrics["epsilon"] and row["accuracy"] is not None
    # More noise, a smaller privacy budget (per seed): Opacus' accountant is monotone.
    for seed in (4, 5):
        eps = [r["epsilon"] for r in sorted(rows, key=lambda r: r["value"]) if r["seed"] == seed]
        assert eps == sorted(eps, reverse=True) and len(set(eps)) == 3


def test_zero_or_off_switches_the_technique_off(tmp_path):
    plan = plan_sweep(dict(TINY, dp_clip=0.5), "dp_noise", "0,1")
    (v0, _, c0), (v1, _, c1) = plan.configs
    assert v0 == 0 and "dp" not in c0.techniques
    assert c1.techniques["dp"] == {**c1.techniques["dp"], "noise_multiplier": 1.0,
                                   "max_grad_norm": 0.5}
    plan = plan_sweep(dict(TINY), "quantize", "off,int8")
    assert [("quantization" in c.techniques) for _, _, c in plan.configs] == [False, True]
    # dropout 0 is a real setting (rate 0), not "off".
    plan = plan_sweep(dict(TINY), "dropout", "0,0.5")
    assert [c.techniques["dropout"]["rate"] for _, _, c in plan.configs] == [0.0, 0.5]


def test_nested_settings_from_the_train_page_are_not_shared_between_runs():
    base = dict(TINY, techniques={"pruning": {"amount": 0.5, "fine_tune_epochs": 0}})
    plan = plan_sweep(base, "prune", "0.3,off,0.8")
    got = [c.techniques.get("pruning", {}).get("amount") for _, _, c in plan.configs]
    assert got == [0.3, None, 0.8]
    assert base["techniques"] == {"pruning": {"amount": 0.5, "fine_tune_epochs": 0}}


def test_a_distillation_sweep_shares_one_new_teacher_per_seed(tmp_path):
    store = Store(tmp_path / "home")
    base = dict(TINY, model="mlp", width=8, distill_from="new-mlp")
    sweep = start_sweep(store, plan_sweep(base, "distill_temperature", "2,8", seeds=2))
    runs = store.list_runs()
    students = [r for r in runs if "distillation" in r.config.techniques]
    teachers = {r.config.techniques["distillation"]["teacher"] for r in students}
    assert len(students) == 4 and len(teachers) == 2  # one teacher per seed
    twins = [r for r in runs if r.id not in teachers and r not in students]
    assert len(twins) == 2  # the student alone, once per seed
    assert {r.run_id for r in sweep.runs} == {r.id for r in students}


def test_manifests_list_newest_first_and_survive_a_broken_file(tmp_path):
    store = Store(tmp_path / "home")
    first = start_sweep(store, plan_sweep(TINY, "epochs", "1,2"))
    second = start_sweep(store, plan_sweep(TINY, "lr", "0.01,0.1"))
    (store.home / "sweeps" / "broken.json").write_text("{not json")
    assert [s.id for s in list_sweeps(store)] == [second.id, first.id]
    assert sweep_of_run(store, first.runs[0].run_id).id == first.id
    assert get_sweep(store, "../../etc") is None
    store.delete(first.runs[0].run_id)
    assert sweep_rows(store, get_sweep(store, first.id))[0]["status"] == "deleted"
    assert "epochs = 1, 2" in first.title


# -- the command line ---------------------------------------------------------------------

def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "playground", "--home", str(home), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_sweep_trains_every_value_and_prints_one_json_object(tmp_path):
    home = tmp_path / "home"
    result = _cli(home, "sweep", "--dataset", "moons", "--model", "logreg", "--epochs", "1",
                  "--vary", "dropout=0,0.4", "--seeds", "2", "--json")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["knob"] == "dropout" and data["values"] == [0.0, 0.4]
    assert data["seeds"] == [0, 1] and len(data["results"]) == 4
    assert all(r["status"] == "finished" and 0 <= r["accuracy"] <= 1 for r in data["results"])
    stored = Store(home)
    assert len(stored.list_runs()) == 4
    assert get_sweep(stored, data["id"]) is not None


def test_cli_sweep_background_queues_and_refuses_bad_input(tmp_path):
    home = tmp_path / "home"
    result = _cli(home, "sweep", "--dataset", "moons", "--model", "mlp", "--vary",
                  "epochs=1:3:1", "--background", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["runs"]) == 3
    assert {r.status for r in Store(home).list_runs()} == {"queued"}

    bad = _cli(home, "sweep", "--dataset", "moons", "--model", "mlp", "--vary", "epochs")
    assert bad.returncode == 2 and "KNOB=VALUES" in bad.stderr
    bad = _cli(home, "sweep", "--dataset", "moons", "--model", "mlp", "--vary", "epochs=0,2")
    assert bad.returncode == 2 and "epochs=0: epochs: must be at least 1" in bad.stderr
    assert len(Store(home).list_runs()) == 3  # nothing queued by the refused ones


# -- the app ------------------------------------------------------------------------------

_open = open_page


def test_train_page_sweep_control_queues_the_sweep(app_home):
    at = _open("pages/train.py")
    at.toggle(key="train_all_settings").set_value(True).run()  # sweeps: under All settings
    at.selectbox(key="train_dataset").set_value("moons").run()
    at.selectbox(key="train_sweep_knob").set_value("epochs").run()
    at.text_input(key="train_sweep_values_epochs").input("1, 2, 3").run()
    button = at.button(key="train_sweep_submit")
    assert button.label == "Queue sweep (3 runs)"
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    store = Store(app_home)
    runs = store.list_runs()
    (sweep,) = list_sweeps(store)
    assert {r.id for r in runs} == {r.run_id for r in sweep.runs}
    assert sorted(r.config.epochs for r in runs) == [1, 2, 3]
    assert len({r.config.model_copy(update={"epochs": 1}).model_dump_json() for r in runs}) == 1
    assert any("Queued sweep" in s.value for s in at.success)

    # A refused sweep says why and queues nothing.
    at.text_input(key="train_sweep_values_epochs").input("0, 2").run()
    at.button(key="train_sweep_submit").click().run()
    assert any("epochs=0" in plain(e.value) for e in at.error)
    assert len(store.list_runs()) == 3


def test_sweeps_page_draws_the_curve_and_the_pareto_views(app_home):
    store = Store(app_home)
    sweep = start_sweep(store, plan_sweep(TINY, "dp_noise", "0.5,1,2"))
    _train_queued(store)
    at = _open("pages/sweeps.py")
    assert at.title[0].value == "Sweeps"
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = [s.get("title") if isinstance(s.get("title"), str) else
              (s.get("title") or {}).get("text", "") for s in specs]
    assert "accuracy against Privacy noise (DP-SGD): noise multiplier" in titles
    # Privacy noise leaves the network's size as it was: said in words, not drawn as a spread.
    assert "accuracy against weight size (bytes)" not in titles
    assert any(c.value.startswith("Every run here has the same weight size") for c in at.caption)
    assert "accuracy against privacy budget ε" in titles
    assert any(sweep.runs[0].run_id in str(df.value) for df in at.dataframe)
    assert any("All 3 runs finished" in c.value for c in at.caption)


def test_sweeps_page_without_sweeps_points_to_train(app_home):
    at = _open("pages/sweeps.py")
    assert any("No sweeps yet" in i.value for i in at.info)


def test_seed_band_says_which_values_differ_by_more_than_luck():
    """Seeds of one value spread 85.0-88.7 %: a value 2 points better on average is within
    luck, one 10 points worse is beyond it; one seed gives no band and no verdict."""
    def rows(accs: dict) -> list[dict]:
        return [{"value": v, "seed": s, "order": i, ACCURACY.key: a}
                for i, (v, seeds) in enumerate(accs.items()) for s, a in enumerate(seeds)]

    lines = seed_verdicts(rows({0: [0.85, 0.887], 0.5: [0.875, 0.90], 2: [0.76, 0.777]}),
                          "dropout")
    assert lines[0] == ("Luck alone moved accuracy by up to 3.7 points here: the same settings "
                        "with 2 different seeds scored 85.0% to 88.7%: differences inside that "
                        "band are luck.")
    assert lines[1].endswith("0.5 against 0: +1.9 points on average, within luck.")
    assert lines[2].endswith("2 against 0: −10.0 points on average, beyond luck.")
    assert seed_verdicts(rows({0: [0.85], 1: [0.95]}), "dropout") == []
