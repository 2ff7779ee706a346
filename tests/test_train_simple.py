"""Train's simple mode, its routes in (another page's hand-off, a link, a reload, the
sidebar in a workshop) and the δ that nobody chooses, through Streamlit's AppTest on the real
app and the core's own checks."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.elements.lib import policies

from components.base.keys import train as keys
from components.training.handoff import train_preset
from playground.data.catalog import dataset_info
from playground.data.views import run_data
from playground.experiments.workshop import (
    Lesson,
    open_workspace,
    update_workspace,
)
from playground.runs.store import Store
from playground.training.config import ConfigError, make_config
from playground.training.techniques import all_techniques, plain_choices
from playground.training.techniques.dp import DPNoise, automatic_delta
from tests.app_support import open_page, participant

DUPLICATE = "created with a default value but also had its value set via the Session State API"


@pytest.fixture
def widget_warnings(monkeypatch, caplog):
    """Streamlit's warning about a control given a default and a session-state value, each
    time it happens (Streamlit itself logs it once per process)."""
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    caplog.set_level(logging.WARNING)

    def seen() -> list[str]:
        monkeypatch.setattr(policies, "_shown_default_value_warning", False)
        return [r.getMessage() for r in caplog.records if DUPLICATE in r.getMessage()]
    return seen


def _texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "success",
                                               "warning", "error")
                     for e in getattr(at, kind))


# -- simple mode -------------------------------------------------------------------------

def test_simple_mode_offers_the_techniques_own_plain_choices(app_home):
    at = open_page("pages/train.py")
    goals = [t.label for t in at.toggle if t.key.startswith(keys.technique_switch(""))]
    assert goals == [cls.plain.goal for cls in plain_choices("image", False)]
    assert "Treat groups fairly" not in goals  # digits have no column naming groups
    at.selectbox(key=keys.DATASET).set_value("loans").run()
    goals = [t.label for t in at.toggle if t.key.startswith(keys.technique_switch(""))]
    assert "Treat groups fairly" in goals  # the loans data has one
    model = at.selectbox(key="train_model_tabular")
    assert model.value == "mlp" and model.options[model.index] == "a small network"
    # No code name on a choice: the techniques' titles and plain words only.
    for cls in all_techniques():
        assert cls.name not in goals


def test_a_plain_level_queues_the_settings_its_technique_declares(app_home):
    at = open_page("pages/train.py")
    at.selectbox(key=keys.DATASET).set_value("loans").run()
    at.toggle(key=keys.technique_switch(DPNoise.name)).set_value(True).run()
    at.radio(key=keys.plain_level(DPNoise.name)).set_value("strong").run()
    fair = next(cls for cls in plain_choices("tabular", True) if cls.plain.needs_groups)
    at.toggle(key=keys.technique_switch(fair.name)).set_value(True).run()
    words = [w for w, _ in fair.plain.levels]
    assert at.radio(key=keys.plain_level(fair.name)).options == words
    at.radio(key=keys.plain_level(fair.name)).set_value(words[1]).run()
    at.button(key="train_submit").click().run()
    assert not at.exception and not at.error
    (run,) = Store(app_home).list_runs()
    assert run.config.techniques[DPNoise.name]["target_epsilon"] == \
        dict(DPNoise.plain.levels)["strong"]["target_epsilon"]
    assert run.config.techniques[fair.name] == {
        **{p.name: p.default for p in fair.params}, **dict(fair.plain.levels)[words[1]]}
    assert run.config.epochs == make_config().epochs  # the rest as it comes


def test_all_settings_is_kept_in_the_url_and_keeps_the_setup(app_home):
    at = open_page("pages/train.py")
    at.toggle(key=keys.technique_switch(DPNoise.name)).set_value(True).run()
    at.toggle(key=keys.ALL_SETTINGS).set_value(True).run()
    assert not at.exception
    assert str(at.query_params["view"]).strip("[]'") == "all"
    # The privacy choice made in simple mode is the same switch and settings here.
    assert at.toggle(key=keys.technique_switch(DPNoise.name)).value is True
    assert at.number_input(key="train_dp_target_epsilon").value == 3.0
    # δ is no control: a sentence says where it comes from.
    assert "train_dp_delta" not in [w.key for w in [*at.slider, *at.number_input]]
    assert "set from the data size" in _texts(at)
    # A reload of that address opens "All settings" again.
    again = open_page("pages/train.py", query={k: str(v).strip("[]'")
                                               for k, v in at.query_params.items()})
    assert again.toggle(key=keys.ALL_SETTINGS).value is True
    assert again.slider(key=keys.EPOCHS) is not None


def test_a_link_with_more_than_simple_mode_shows_opens_all_settings(app_home):
    at = open_page("pages/train.py", query={"dataset": "wine", "epochs": "7"})
    assert at.toggle(key=keys.ALL_SETTINGS).value is True
    assert at.slider(key=keys.EPOCHS).value == 7
    plain = open_page("pages/train.py", query={"dataset": "wine"})
    assert plain.toggle(key=keys.ALL_SETTINGS).value is False


def test_the_train_button_comes_before_the_trade_offs(app_home):
    """On a phone the columns stack: the button sits above the choices, not below them."""
    at = open_page("pages/train.py")
    order = [getattr(e, "key", None) for e in _walk(at.main)]
    assert order.index("train_submit") < order.index(keys.DATASET)
    assert order.index("train_submit") < order.index(keys.technique_switch(DPNoise.name))


def _walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


# -- routes in: no duplicate-value warning, no stale banner ---------------------------------

@pytest.mark.parametrize("all_settings", [False, True])
def test_another_pages_hand_off_draws_train_without_a_widget_warning(
        app_home, widget_warnings, all_settings):
    at = open_page("pages/train.py")
    assert widget_warnings() == []
    # What Your data's "Save it and train on it" hands over, onto a page already drawn.
    at.session_state[keys.PRESET] = train_preset("wine", "logreg", {"dropout": {"rate": 0.3}},
                                                 all_settings=all_settings, epochs=10)
    at.run()
    assert not at.exception
    assert at.selectbox(key=keys.DATASET).value == "wine"
    assert at.toggle(key=keys.ALL_SETTINGS).value is all_settings
    if all_settings:
        assert at.selectbox(key="train_model_tabular").value == "logreg"
        assert at.slider(key="train_dropout_rate").value == 0.3
    assert widget_warnings() == []


def test_a_reload_of_a_train_link_draws_without_a_widget_warning(app_home, widget_warnings):
    at = open_page("pages/train.py", query={"dataset": "wine", "epochs": "12", "lr": "0.03"})
    assert at.slider(key=keys.EPOCHS).value == 12
    at.slider(key=keys.EPOCHS).set_value(15).run()
    written = {k: str(v).strip("[]'") for k, v in at.query_params.items()}
    open_page("pages/train.py", query=written)  # the reload: a new session, same address
    assert widget_warnings() == []


def test_the_queued_banner_goes_when_the_page_is_left(app_home):
    at = open_page("pages/train.py")
    at.button(key="train_submit").click().run()
    assert len(at.success) == 1
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert not [s for s in at.success if "Queued run" in s.value]


# -- a workshop's lesson on every route into Train ------------------------------------------

def _room(home: Path, lesson: Lesson):
    ws, key = open_workspace(home, "room")
    update_workspace(home, "room", key, lesson=lesson)
    return key


def test_a_participant_opening_train_from_the_sidebar_keeps_the_lesson(app_home):
    _room(app_home, Lesson({"dataset": "wine", "model": "logreg"}, ["dataset", "model"]))
    # Straight to Train, as the sidebar, a reload or a new tab would: no preset was set.
    at = open_page("pages/train.py", session=participant(app_home, "room", "Ana"))
    assert at.selectbox(key=keys.DATASET).value == "wine"
    assert at.selectbox(key=keys.DATASET).disabled
    assert "Unlock every control" not in [b.label for b in at.button]
    at.toggle(key=keys.ALL_SETTINGS).set_value(True).run()
    assert at.selectbox(key="train_model_tabular").value == "logreg"
    assert at.selectbox(key="train_model_tabular").disabled
    assert "Unlock every control" not in [b.label for b in at.button]
    # A link that says otherwise does not loosen the lesson for them.
    linked = open_page("pages/train.py", query={"dataset": "digits", "lock": ""},
                       session=participant(app_home, "room", "Ben"))
    assert linked.selectbox(key=keys.DATASET).value == "wine"
    assert linked.selectbox(key=keys.DATASET).disabled
    linked.button(key="train_submit").click().run()
    (run,) = Store(app_home).list_runs()
    assert (run.owner, run.config.dataset, run.config.model) == ("Ben", "wine", "logreg")


def test_the_presenter_and_someone_outside_may_unlock(app_home):
    key = _room(app_home, Lesson({"dataset": "wine"}, ["dataset"]))
    at = open_page("pages/train.py", session={"workshop_name": "room", "workshop_key": key})
    assert at.selectbox(key=keys.DATASET).disabled
    at.button(key="train_unlock").click().run()
    assert not at.selectbox(key=keys.DATASET).disabled
    solo = open_page("pages/train.py", query={"dataset": "wine", "lock": "dataset"})
    assert solo.selectbox(key=keys.DATASET).disabled
    solo.button(key="train_unlock").click().run()
    assert not solo.selectbox(key=keys.DATASET).disabled


# -- δ: from the data, never a participant's ------------------------------------------------

def test_delta_comes_from_the_data_size_well_below_one_in_n():
    for n in (10, 341, 1_078, 60_000, 10**7):
        delta = automatic_delta(n)
        assert delta <= 1e-5 and n * delta <= 0.1 + 1e-12
    assert automatic_delta(10**7) == pytest.approx(1e-8)  # large data: 0.1 / n


def test_a_delta_at_or_above_one_in_n_is_refused_in_words():
    config = make_config(dataset="breast_cancer", model="mlp", dp_noise=1.0)
    n = len(run_data(config).y_train)
    with pytest.raises(ConfigError) as refused:
        make_config(dataset="breast_cancer", model="mlp", dp_noise=1.0, dp_delta=1 / n)
    (problem,) = refused.value.problems
    assert problem.startswith(DPNoise.title) and f"{n:,}" in problem and "dp" not in \
        problem.split(":")[0].split()
    make_config(dataset="breast_cancer", model="mlp", dp_noise=1.0, dp_delta=0.5 / n / 10)


def test_the_fairness_choice_reads_in_words_on_all_settings(app_home):
    at = open_page("pages/train.py", query={"dataset": "loans", "view": "all"})
    fair = next(cls for cls in plain_choices("tabular", True) if cls.plain.needs_groups)
    at.toggle(key=keys.technique_switch(fair.name)).set_value(True).run()
    box = next(s for s in at.selectbox if s.key.startswith(f"train_{fair.name}_"))
    assert box.options == ["equal approval rates across groups", "equal error rates across groups"]
    assert dataset_info("loans").default_sensitive  # the choice needs groups, and has them


def test_simple_mode_queues_the_rooms_delta_for_a_participant(app_home):
    _room(app_home, Lesson({"dataset": "wine", "dp_epsilon": 8.0, "dp_delta": 1e-7},
                           ["dataset"]))
    at = open_page("pages/train.py", session=participant(app_home, "room", "Ana"))
    # Privacy at a plain level, with the room's δ: simple mode shows it whole.
    assert at.toggle(key=keys.ALL_SETTINGS).value is False
    assert at.toggle(key=keys.technique_switch(DPNoise.name)).value is True
    assert at.radio(key=keys.plain_level(DPNoise.name)).value == "a little"  # ε 8, as set
    at.radio(key=keys.plain_level(DPNoise.name)).set_value("strong").run()
    at.button(key="train_submit").click().run()
    assert not at.error, [e.value for e in at.error]
    (run,) = Store(app_home).list_runs()
    assert run.config.techniques[DPNoise.name]["delta"] == 1e-7
    assert run.config.techniques[DPNoise.name]["target_epsilon"] == 1.0
