"""The Learn page and the glossary: a lesson per registered technique whose "Try it" opens
Train with a valid setup, and a glossary entry behind every control's help text."""
from __future__ import annotations

import pytest

from playground.teaching import glossary
from playground.teaching import lessons as learn
from playground.training.config import RunConfig, make_config
from playground.training.techniques import all_techniques
from playground.training.techniques.distillation import TEACHER_VALUES
from tests.test_pages import home, open_app, train_now  # noqa: F401  (home: AppTest-ready)

REQUIRED_TERMS = ["accuracy", "f1", "confusion_matrix", "epsilon", "delta", "quantization",
               "distillation", "pruning", "lime", "shap", "integrated_gradients",
               "overfitting", "epoch", "learning_rate",
               # attacks
               "membership_inference", "adversarial_example", "fgsm", "pgd", "robustness",
               # fairness
               "demographic_parity", "equalized_odds", "selection_rate",
               "fairness_postprocessing", "sensitive"]


# -- content -----------------------------------------------------------------------------------
def test_every_registered_technique_has_a_lesson_in_plain_sentences():
    entries = {e.name: e for e in learn.entries()}
    # Every technique in the loop's order, then the two attacks every run gets.
    assert list(entries) == [cls.name for cls in all_techniques()] + [
        "privacy_attack", "robustness", "fairness_audit"]
    assert all(cls.lesson for cls in all_techniques())  # each brings its own
    for name, entry in entries.items():
        lesson = entry.lesson
        assert lesson.what.endswith(".") and ". " not in lesson.what, name  # one sentence
        assert len(lesson.trade_off) > 40 and " against " in lesson.trade_off, name
        assert len(lesson.used_when) > 40, name
        assert entry.glossary_key and glossary.term(entry.glossary_key), name


@pytest.mark.parametrize("name", [cls.name for cls in all_techniques()  # not those that
                                  if not any(p.pick_run for p in cls.params)])  # need a run
def test_try_it_is_a_valid_run_with_the_technique_on(name):
    tried = learn.try_it(name)
    if tried.problem:  # only a GPU technique on a machine without one may be refused
        import torch

        assert name == "mixed_precision" and not torch.cuda.is_available()
        assert "needs a GPU" in tried.problem
        return
    config = make_config(**tried.values)
    assert name in config.techniques
    assert config.epochs <= 50 and tried.note == ""


def test_distillation_try_it_offers_a_teacher_first_then_uses_the_best_one(home):  # noqa: F811
    from playground.runs.store import Store

    first = learn.try_it("distillation", [])
    assert "teacher first" in first.note
    assert "distillation" not in make_config(**first.values).techniques
    store = Store(home)
    weak = train_now(store, dataset="digits", model="logreg", epochs=1, lr=0.0003)
    strong = train_now(store, dataset="digits", model="logreg", epochs=3)
    other_data = train_now(store, dataset="wine", model="logreg", epochs=3)
    finished = store.list_runs(statuses=("finished",))
    assert {r.id for r in finished} == {weak, strong, other_data}
    assert store.get(strong).metrics["accuracy"] > store.get(weak).metrics["accuracy"]
    second = learn.try_it("distillation", finished)
    config = make_config(**second.values)
    assert config.techniques["distillation"]["teacher"] == strong
    assert strong in second.note


# -- glossary ----------------------------------------------------------------------------------
def test_glossary_terms_are_unique_and_cover_what_the_issue_names():
    keys = [t.key for t in glossary.terms()]
    assert len(keys) == len(set(keys))
    assert len({glossary.anchor(k) for k in keys}) == len(keys)
    for key in REQUIRED_TERMS:
        assert glossary.term(key).short.endswith(".")
    with pytest.raises(KeyError, match="no glossary term"):
        glossary.term("nonsense")


def test_every_control_and_technique_setting_maps_to_a_glossary_term():
    controls = [f for f in RunConfig.model_fields if f not in ("techniques", "device")]
    for field in controls:
        assert glossary.term(glossary.CONTROL_TERMS[field])
    for cls in all_techniques():
        assert glossary.term(glossary.technique_term(cls.name))
        for param in cls.params:
            assert glossary.term(glossary.technique_term(cls.name, param.name))


def test_glossary_help_keeps_the_text_and_adds_the_meaning_and_link():
    text = glossary.technique_help("dp", "Chance the guarantee fails.", "delta")
    assert text.startswith("Chance the guarantee fails.")
    assert glossary.term("delta").short in text
    assert "More: Learn → Glossary → [δ (delta)](learn#glossary-delta)" in text
    assert glossary.glossary_help("plain", None) == "plain"


# -- pages -------------------------------------------------------------------------------------
def test_every_control_on_train_links_the_glossary(home):  # noqa: F811
    at = open_app("pages/train.py")
    for toggle in at.main.toggle:  # switch every technique on, so its settings are drawn too
        if not toggle.disabled:  # (a GPU-only one is disabled on a CPU machine)
            toggle.set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    main = at.main  # the page itself, not the app's sidebar
    widgets = [*main.selectbox, *main.slider, *main.select_slider, *main.number_input,
               *main.toggle]
    # The run's own settings and technique switches (the sweep panel is its own piece).
    widgets = [w for w in widgets if not w.key.startswith("train_sweep_")
               and w.key != "train_all_settings"]  # the view, not a setting
    assert len(widgets) > 20
    missing = [(w.key, w.label) for w in widgets if "Learn → Glossary" not in (w.help or "")]
    assert not missing, missing


def test_learn_page_shows_every_technique_and_the_glossary(home):  # noqa: F811
    at = open_app("pages/learn.py")
    headings = [h.value for h in at.subheader]
    for cls in all_techniques():
        assert cls.title in headings
    for t in glossary.terms():
        assert t.name in headings
    assert [h.value for h in at.header] == ["Glossary"]
    text = " ".join(m.value for m in at.markdown)
    assert "**The trade-off.**" in text and "**When a company uses it.**" in text


def test_try_it_opens_train_with_the_lesson_setup(home):  # noqa: F811
    at = open_app("pages/learn.py")
    at.button(key="learn_try_dropout").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Train a model"
    values = learn.try_it("dropout").values
    assert at.selectbox(key="train_dataset").value == values["dataset"]
    assert at.slider(key="train_epochs").value == values["epochs"]
    assert at.toggle(key="train_tech_dropout").value is True
    assert at.slider(key="train_dropout_rate").value == pytest.approx(values["dropout"])
    assert "train_preset" not in at.session_state  # applied once, then popped


def test_distillation_try_it_explains_the_teacher_step_before_opening_train(home):  # noqa: F811
    at = open_app("pages/learn.py")
    at.button(key="learn_try_distillation").click().run()
    assert at.title[0].value == "Learn"
    assert any("teacher first" in i.value for i in at.info)
    at.button(key="learn_open_distillation").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Train a model"
    assert at.selectbox(key="train_model_image").value == TEACHER_VALUES["model"]
