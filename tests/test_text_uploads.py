"""A CSV with a column of free text: recognised as text (not categories, not dropped), read
as words alone or beside the table's other columns (the word-count models take the mix, the
tiny BERT is refused with the reason until the other columns are left out), and trained."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from playground.data import uploads
from playground.data.units import RowCodec
from playground.data.uploads import staging
from playground.data.views import run_data
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.artifacts import load_predictions, load_run, predict_probs
from playground.training.config import ConfigError, make_config

GOOD, BAD = ["great", "lovely", "excellent", "superb"], ["awful", "terrible", "poor", "rude"]
FILLER = ["the", "service", "was", "today", "and", "staff", "food", "room", "quite", "very"]


def notes_csv(n: int = 400, seed: int = 0, text_only: bool = False) -> bytes:
    """Customer notes whose one telling word (good or bad), with the amount above 10 beside
    it, decides the answer: the words alone get about three in four right."""
    rng = np.random.default_rng(seed)
    lines = ["note,answer" if text_only else "note,amount,region,answer"]
    for _ in range(n):
        good = bool(rng.integers(2))
        words = list(rng.choice(FILLER, int(rng.integers(3, 7))))
        words.insert(int(rng.integers(len(words) + 1)), rng.choice(GOOD if good else BAD))
        amount = float(rng.normal(10, 3))
        answer = "yes" if (good if text_only else good and amount > 10) else "no"
        region = rng.choice(["north", "south", "east"])
        lines.append(f"\"{' '.join(words)}\",{answer}" if text_only else
                     f"\"{' '.join(words)}\",{amount:.2f},{region},{answer}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Both uploads saved, and bow runs on each: text alone, the mix, the mix without the
    amount (one second each)."""
    home = tmp_path_factory.mktemp("text-uploads") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        only = uploads.prepare(notes_csv(text_only=True), "only.csv", "answer", "notes_only")
        mix = uploads.prepare(notes_csv(), "mix.csv", "answer", "notes_mix")
        uploads.save(only, home)
        uploads.save(uploads.read_words(mix), home)
        store = Store(home)
        runs = {}
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        for key, values in {"only": dict(dataset="notes_only"),
                            "mix": dict(dataset="notes_mix"),
                            "words": dict(dataset="notes_mix", leave_out="amount,region")
                            }.items():
            run_id = store.enqueue(make_config(model="bow", epochs=8, lr=0.05, **values))
            assert store.claim_run(run_id, os.getpid())
            assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
            runs[key] = store.get(run_id)
        torch.set_num_threads(before)
        yield home, store, only, mix, runs


def test_free_text_is_recognised_and_read_as_words(saved):
    _, _, only, mix, _ = saved
    # Text alone: a text dataset at once, its one column the text.
    assert only.kind == "text" and only.text_column == "note" and only.X.shape == (400, 0)
    assert [(c.name, c.kind) for c in only.schema] == [("note", "text")]
    assert list(only.texts[:3]) == [r.split('",')[0].strip('"') for r in
                                    notes_csv(text_only=True).decode().splitlines()[1:4]]
    # Beside other columns: a table until the person reads it as words, never coded.
    assert mix.kind == "tabular" and mix.text_column == "note"
    assert mix.schema.names == ["amount", "region"]
    assert any("Read it as words" in n for n in mix.notes)
    words = uploads.read_words(mix)
    assert words.kind == "text" and words.schema.names == ["note", "amount", "region"]
    assert any("Word-count models learn from it beside" in n for n in words.notes)
    assert uploads.read_words(words, False).schema.names == ["amount", "region"]
    with pytest.raises(uploads.UploadError, match="only input column"):
        uploads.read_words(only, False)
    with pytest.raises(uploads.UploadError, match="read as words"):
        uploads.save(replace(words, name="x", leave_out=("note",)), saved[0])


def test_a_staged_check_keeps_the_sentences(saved, tmp_path):
    _, _, _, mix, _ = saved
    staging.write_outcome("k", staging.Outcome(mix), tmp_path)
    back = staging.read_outcome("k", tmp_path).prepared
    assert back.text_column == "note" and list(back.texts) == list(mix.texts)


def test_text_alone_trains_and_its_outputs_are_the_models(saved):
    home, store, _, _, runs = saved
    run = runs["only"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        loaded = load_run(store, run.id)
    data = loaded.data
    assert data.info.kind == "text" and data.extra_features == 0
    assert data.texts is not None and data.coder is not None
    # The recorded accuracy and predictions are the saved model's on the test sentences.
    predicted = predict_probs(loaded.model, data.X_test).argmax(1)
    saved_predictions = load_predictions(store, run.id)
    np.testing.assert_array_equal(saved_predictions["y_pred"], predicted)
    np.testing.assert_array_equal(saved_predictions["y_true"], data.y_test)
    assert run.metrics["test_examples"] == len(data.y_test) == 80
    assert run.metrics["accuracy"] == pytest.approx(float((predicted == data.y_test).mean()))
    assert run.metrics["accuracy"] > 0.9  # one word decides


def test_word_count_models_take_the_words_and_the_columns(saved):
    home, store, _, _, runs = saved
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        data = run_data(runs["mix"].config)
        words_only = run_data(runs["words"].config)
        # The ids first, then the amount and region's three 0/1 inputs, standardised.
        length = data.coder.max_length
        assert data.extra_features == 4 and words_only.extra_features == 0
        np.testing.assert_array_equal(data.X_test[:, :length], words_only.X_test)
        assert abs(data.X_train[:, length:].mean(0)).max() < 1e-5
        # Rows read back in the person's units, and an edit goes back exactly.
        codec = RowCodec(data)
        row = codec.to_raw(data.X_test[0])
        assert row["note"] == data.texts[2][0].lower()
        np.testing.assert_allclose(codec.to_model(row), data.X_test[0], atol=1e-4)
        # The tiny BERT reads text alone: refused, with the way out, until the rest is out.
        with pytest.raises(ConfigError, match=r"reads only the text .* \(amount, region\)"):
            make_config(dataset="notes_mix", model="bert")
        make_config(dataset="notes_mix", model="bert", leave_out="amount,region")
    # Word and amount together decide: the mix beats the words alone by far.
    mix, alone = runs["mix"].metrics["accuracy"], runs["words"].metrics["accuracy"]
    assert mix > alone + 0.1, (mix, alone)
