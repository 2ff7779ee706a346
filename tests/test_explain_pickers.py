"""Explain's run picker: the acting person's runs first, labelled with whose they are and
what they are in words, every label different."""
from __future__ import annotations

from components.explain.pick import (
    explained_at_first,
    first_choice,
    mine_first,
    owner_words,
    run_labels,
)
from playground.common.permissions import LOCAL, Actor
from playground.data.catalog import dataset_info
from playground.explain import methods as M
from playground.explain.subjects import default_variant
from playground.runs.records import Run
from playground.training.config import make_config

ANN = Actor(kind="participant", workspace="friday", name="Ann", person="p1")


def run(run_id: str, workspace=None, owner=None, **values) -> Run:
    config = make_config(dataset="digits", model="mlp", epochs=2, **values)
    return Run(run_id, "finished", config, 0.0, {"accuracy": 0.9}, workspace=workspace,
               owner=owner)


RUNS = [run("r5", "friday", "Bo"), run("r4", "friday", "Ann", dropout=0.3),
        run("r3"), run("r2", "friday", "Ann"), run("r1", "friday", "Ann")]


def test_a_participants_own_runs_come_first_newest_first():
    assert [r.id for r in mine_first(RUNS, ANN)] == ["r4", "r2", "r1", "r5", "r3"]


def test_the_local_user_owns_the_runs_outside_workshops():
    assert [r.id for r in mine_first(RUNS, LOCAL)][:1] == ["r3"]
    assert owner_words(RUNS[2], LOCAL) == "yours"
    assert owner_words(RUNS[0], LOCAL) == "Bo"


def test_labels_name_the_owner_and_the_run_in_words_and_differ():
    labels = run_labels(RUNS, ANN)
    assert labels["r5"].startswith("Bo: Neural network (MLP), plain, 2 passes")
    assert labels["r4"].startswith("yours: Neural network (MLP) with dropout, 2 passes")
    # r2 and r1 are the same run twice: their ids keep them apart.
    assert len(set(labels.values())) == len(RUNS)
    assert labels["r2"].endswith("· run r2") and labels["r1"].endswith("· run r1")


def test_explain_opens_on_the_persons_newest_run_the_first_methods_can_explain():
    small = run("r9", "friday", "Ann", quantize="int8")  # the newest: an 8-bit copy
    runs = [small, *RUNS]
    # The methods switched on at first include one that needs gradients, which int8 lacks.
    kind = dataset_info("digits").kind
    assert any(M.method(n).needs_gradients for n in M.default_methods(kind))
    assert default_variant(small) == "int8" and not explained_at_first(small)
    assert first_choice(runs, ANN).id == "r4"  # Ann's newest float run, still hers
    assert first_choice([small, RUNS[0]], ANN) is small  # hers before anyone else's
    assert first_choice(runs, LOCAL).id == "r3"
    assert first_choice([], ANN) is None
