"""What changed between two runs reads in the Train page's words: technique titles, each
setting's label and its choices' words, and a column left out of the model."""
from __future__ import annotations

from playground.results.answers import run_words, unique_labels
from playground.results.run_diff import config_changes
from playground.runs.records import Run
from playground.training.config import make_config
from playground.training.techniques import TECHNIQUES

LOANS = dict(dataset="loans", model="mlp", sensitive="group")


def _param(tech: str, name: str):
    return next(p for p in TECHNIQUES.get(tech).params if p.name == name)


def test_a_technique_switched_on_is_told_by_its_title_and_its_settings_words():
    plain = make_config(**LOANS)
    private = make_config(**LOANS, dp_epsilon=3.0, fairness="demographic_parity")
    dp = next(t for t in private.techniques if _param_names(t) >= {"target_epsilon"})
    fair = next(t for t in private.techniques if t != dp)
    said = config_changes(plain, private)
    budget = _param(dp, "target_epsilon").title().split(" (")[0].lower()
    assert f"{TECHNIQUES.get(dp).title} switched on ({budget} 3)" in said, said
    sense = _param(fair, "constraint")
    assert (f"{TECHNIQUES.get(fair).title} switched on ({sense.title().lower()}: "
            f"{sense.word('demographic_parity')})") in said, said
    assert "equal approval rates across groups" in " ".join(said)
    # No code names: neither the parameters' nor the choices'.
    for word in ("target_epsilon", "noise multiplier", "demographic_parity", "accountant"):
        assert word not in " ".join(said), said
    assert config_changes(private, plain)[-1].endswith("switched off")


def _param_names(tech: str) -> set[str]:
    return {p.name for p in TECHNIQUES.get(tech).params}


def test_a_changed_setting_gives_both_values_in_words():
    a = make_config(**LOANS, dp_epsilon=3.0)
    b = make_config(**LOANS, dp_epsilon=1.0, dp_accountant="rdp")
    dp = next(iter(b.techniques))
    accountant = _param(dp, "accountant")
    said = config_changes(a, b)
    assert f"{TECHNIQUES.get(dp).title}, target privacy budget ε: 3 → 1" in said, said
    assert (f"{TECHNIQUES.get(dp).title}, how ε is counted: {accountant.word('prv')} → "
            f"{accountant.word('rdp')}") in said, said


def test_a_column_left_out_is_a_change_told_in_words():
    blind = make_config(**LOANS, leave_out="group")
    small = make_config(**LOANS, quantize="int8")
    said = config_changes(small, blind)
    assert said[0] == "Left out of the model: group", said
    assert config_changes(blind, small)[0] == "Given back to the model: group"
    assert config_changes(blind, blind) == []


def test_a_run_in_words_says_which_columns_it_left_out():
    blind = Run(id="b", status="queued", config=make_config(**LOANS, leave_out="group"),
                created=0.0)
    plain = Run(id="p", status="queued", config=make_config(**LOANS), created=1.0)
    assert run_words(blind).split(" · ")[2:] == ["without group", "no techniques"]
    assert "without" not in run_words(plain)
    labels = unique_labels([blind, plain])
    assert labels["b"] != labels["p"] and "without group" in labels["b"]
