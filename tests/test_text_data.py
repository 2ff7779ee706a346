"""The shipped text corpora, the tokenizer learnt per run, and the text models' shapes."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from models.base import ModelSpec, build_model
from playground.data import corpora
from playground.data.catalog import load_dataset
from playground.data.text import coder_path

pytestmark = pytest.mark.fast


def test_corpora_match_their_checksums_and_published_counts():
    for name, digest in corpora.SHA256.items():
        folder = "sms_spam_collection" if name == corpora.SMS_FILE else \
            "sentiment_labelled_sentences"
        data = (corpora.HERE / folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    reviews, sms = corpora.reviews(), corpora.sms_spam()
    assert len(reviews.texts) == 3000 and np.bincount(reviews.labels).tolist() == [1500, 1500]
    assert Counter(reviews.sources) == {"amazon": 1000, "imdb": 1000, "yelp": 1000}
    assert len(sms.texts) == 5574 and np.bincount(sms.labels).tolist() == [4827, 747]
    assert (corpora.HERE / "sms_spam_collection" / corpora.SMS_FILE).stat().st_size == 477_907


def test_a_damaged_copy_is_refused(tmp_path):
    bad = tmp_path / corpora.SMS_FILE
    bad.write_bytes(b"ham\thello\n")
    with pytest.raises(corpora.CorpusDamaged, match="checksum"):
        corpora.checked_bytes(bad)


def test_the_tokenizer_sees_only_the_training_split():
    data = load_dataset("reviews", seed=3)
    train, _, test = data.texts
    vocab = set(data.coder.tokenizer.get_vocab())
    # The file it came from is keyed by the training sentences alone.
    assert coder_path(train).exists()
    coder = json.loads(json.loads(coder_path(train).read_text())["coder"])
    assert coder["max_length"] == data.coder.max_length
    # Every piece of the vocabulary occurs in the training sentences (as the normaliser
    # sees them), so no test sentence contributed one.
    normal = data.coder.tokenizer.normalizer.normalize_str
    train_text = "\n".join(normal(str(t)) for t in train)
    pieces = [t.removeprefix("##") for t in vocab if not t.startswith("[")]
    assert pieces and all(p in train_text for p in pieces)
    test_only = {w for t in test for w in normal(str(t)).split()
                 if w.isalpha() and w not in train_text}
    assert test_only, "expected some words that only the test sentences use"
    assert not test_only & vocab
    # Every split is encoded with that one tokenizer: [CLS] first, padding last.
    cls = data.coder.id_of("[CLS]")
    for X in (data.X_train, data.X_val, data.X_test):
        assert X.dtype == np.float32 and X.shape[1] == data.coder.max_length
        assert (X[:, 0] == cls).all()


def test_every_process_uses_the_same_ids(tmp_path):
    """WordPiece training differs between processes; the shared file makes them agree."""
    script = ("from playground.data.catalog import load_dataset;"
              "import hashlib;"
              "d = load_dataset('sms_spam', seed=5);"
              "print(hashlib.sha256(d.X_test.tobytes()).hexdigest())")
    env = {"PLAYGROUND_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    outs = {subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True, cwd=str(corpora.HERE.parents[2])).stdout
            for _ in range(2)}
    assert len(outs) == 1


@pytest.mark.parametrize("name", ["bow", "bow_net", "bert"])
def test_text_models_take_ids_and_ignore_padding_beyond_the_sentence(name):
    spec = ModelSpec((12,), 2, width=32, depth=2, vocab_size=50)
    model = build_model(name, spec).eval()
    ids = torch.tensor([[2, 7, 9, 3] + [0] * 8], dtype=torch.float32)
    out = model(ids)
    assert out.shape == (1, 2)
    assert hasattr(model, "embedding_layer")
    if name.startswith("bow"):  # order-blind: the same words in another order score the same
        swapped = torch.tensor([[2, 9, 7, 3] + [0] * 8], dtype=torch.float32)
        torch.testing.assert_close(model(swapped), out)
