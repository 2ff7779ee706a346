"""Text runs in the app (Streamlit's AppTest): Train offers the text models, starting with
the bag of words, shows sentences as written (escaped), refuses what does not apply, and a
finished text run's card says which attack it did not get."""
from __future__ import annotations

import os

from models.base import all_model_infos
from playground.common.escape import md
from playground.data.catalog import load_dataset
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training import audits
from playground.training.config import make_config
from tests.app_support import open_page


def page_text(at) -> str:
    return " ".join(m.value for m in at.main.markdown)


def test_train_page_on_review_sentences(app_home):
    at = open_page("pages/train.py")
    at.toggle(key="train_all_settings").set_value(True).run()
    at.selectbox(key="train_dataset").set_value("reviews").run()
    assert not at.exception
    model = at.selectbox(key="train_model_text")
    assert model.options == [m.title for m in all_model_infos() if "text" in m.kinds]
    assert model.value == "bow"  # seconds, not minutes, for a first run
    # The first training sentences with their labels, as data: escaped, never markup.
    data = load_dataset("reviews", 0, 0.2)
    first = str(data.texts[0][0])
    assert md(first) in page_text(at)
    label = data.class_names[data.y_train[0]]
    assert f"**{md(label)}**: {md(first)}" in page_text(at)
    # No attack-strength slider: sentences are not attacked with small changes.
    assert "train_attack_strength" not in [s.key for s in at.slider]
    # Techniques that never apply to sentences are not offered.
    toggles = [t.key for t in at.toggle if t.key.startswith("train_tech_")]
    assert "train_tech_dp" in toggles and "train_tech_adversarial_training" not in toggles


def test_a_text_run_card_says_why_it_was_not_attacked_with_small_changes(app_home,
                                                                          monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUDITS", "on")
    store = Store(app_home)
    run_id = store.enqueue(make_config(dataset="reviews", model="bow", epochs=1, lr=0.05))
    execute(store, store.claim(os.getpid()))
    assert store.get(run_id).status == "finished"
    at = open_page("pages/runs.py")
    assert not at.exception
    captions = " ".join(c.value for c in at.main.caption)
    assert audits.ROBUSTNESS_SKIPPED["text"] in captions
