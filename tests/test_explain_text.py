"""Explanations of words: a tiny bag-of-words run and a tiny BERT run (one module fixture).

References: the bag-of-words logistic model is linear in its word counts, so a word's exact
contribution to the log-odds is its pieces' learnt weights (what Integrated Gradients and
SHAP must give, and LIME's straight line must fit); the tiny BERT is checked against
Captum's own completeness statement (the sum equals the output's change from the baseline,
within its reported convergence delta) and against the model run by hand on both ends.
"""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.explain import methods as M
from playground.explain.cache import Request
from playground.explain.jobs import ExplainJobs
from playground.explain.subjects import ModelBank
from playground.explain.verdict import verdict_for
from playground.explain.words import attention_by_word, sentence_html
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from tests.run_support import train_now

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "not good at all"
TEXT_METHODS = ["lime", "shap", "ig"]


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("explain_text") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))  # the shared tokenizer's folder
        store = Store(home)
        bow = train_now(store, dataset="reviews", model="bow", epochs=3, seed=0)
        bert = train_now(store, dataset="reviews", model="bert", width=32, depth=1, epochs=1,
                         train_fraction=0.1, seed=0)
        yield store, bow, bert


def exact_bow_contributions(subject: M.Subject, text: str, target: int) -> np.ndarray:
    """Each word's share of the bag-of-words model's log-odds (two classes: z_t - z_other),
    read from its weights: the sum over the word's pieces, padding's row being zero."""
    weights = subject.model.embedding_layer.weight.detach().numpy()
    per_class = weights[:, target] - weights[:, 1 - target]
    ids = subject.coder.encode([text])[0].astype(int)
    return M.word_sums(subject.coder, text, per_class[ids] * (ids != subject.coder.pad_id))


@pytest.mark.parametrize("which", ["bow", "bert"])
def test_layer_ig_word_attributions_sum_to_the_output_change_within_captums_delta(
        text_runs, which):
    store, bow, bert = text_runs
    run = bow if which == "bow" else bert
    subject = ModelBank(store).subject(run, "float")
    a = M.explain(subject, None, "ig", 1, text=SENTENCE)
    assert a.words == ["not", "good", "at", "all"] and a.values.shape == (4,)
    # Both ends recomputed by hand: the sentence, and [CLS] [PAD]... [SEP] read with the
    # sentence's own attention mask.
    coder = subject.coder
    ids = torch.from_numpy(coder.encode([SENTENCE]))
    specials = torch.isin(ids.long(), torch.tensor([coder.id_of("[CLS]"), coder.id_of("[SEP]")]))
    baseline = torch.where(specials, ids, torch.zeros_like(ids))
    with torch.no_grad():
        if which == "bert":
            mask = (ids != 0).long()
            ends = M.log_odds(subject.model(torch.cat([ids, baseline]), mask.expand(2, -1)))
        else:
            ends = M.log_odds(subject.model(torch.cat([ids, baseline])))
    change = float(ends[0, 1] - ends[1, 1])
    assert a.extras["model_output"] == pytest.approx(float(ends[0, 1]), abs=1e-5)
    assert abs(float(a.values.sum()) - change) <= a.extras["convergence_delta"] + 1e-5
    assert a.extras["convergence_delta"] < 1e-2
    if which == "bow":  # linear: Integrated Gradients is exact, word by word
        np.testing.assert_allclose(a.values, exact_bow_contributions(subject, SENTENCE, 1),
                                   atol=1e-4)


def test_lime_and_shap_weigh_the_words_of_the_sentence(text_runs):
    store, bow, bert = text_runs
    subject = ModelBank(store).subject(bow, "float")
    text = "The food was <b>great</b>, the service *not* good."
    words = [w for w, _, _ in subject.coder.words(text)]
    exact = exact_bow_contributions(subject, text, 1)
    lime = M.explain(subject, None, "lime", 1, text=text)
    shap = M.explain(subject, None, "shap", 1, text=text)
    for a in (lime, shap):
        assert a.words == words and a.values.shape == (len(words),)
    # SHAP on a model additive in its words gives each word exactly its own part, and the
    # parts add up to the sentence's score minus the score with every word removed.
    np.testing.assert_allclose(shap.values, exact, atol=1e-4)
    assert shap.values.sum() == pytest.approx(
        shap.extras["model_output"] - shap.extras["base_value"], abs=1e-4)
    # LIME's straight line fits an additive model almost perfectly (its ridge shrinks a bit).
    assert lime.extras["fit_r2"] > 0.95
    np.testing.assert_allclose(lime.values, exact, atol=0.1 * np.abs(exact).max())
    assert words[int(np.argmax(np.abs(lime.values)))] == words[int(np.argmax(np.abs(exact)))]
    # On the tiny BERT they name the same words (whatever weights it learnt).
    bert_subject = ModelBank(store).subject(bert, "float")
    for name, fewer in (("lime", {"num_samples": 200}), ("shap", {"text_max_evals": 100})):
        options = M.settings(name, bert_subject, **fewer)
        assert M.explain(bert_subject, None, name, 0, options, text=text).words == words


def test_the_verdict_names_a_word_of_the_sentence(text_runs):
    store, bow, _ = text_runs
    bank = ModelBank(store)
    subject = bank.subject(bow, "float")
    done = {n: M.explain(subject, None, n, 0, text=SENTENCE) for n in TEXT_METHODS}
    verdict = verdict_for(bank.loaded(bow).data, None, done, "negative")
    exact = exact_bow_contributions(subject, SENTENCE, 0)
    strongest = ["not", "good", "at", "all"][int(np.argmax(np.abs(exact)))]
    way = "towards" if exact[np.argmax(np.abs(exact))] > 0 else "against"
    assert verdict.agree
    assert verdict.sentence == (f"All three methods say “{strongest}” counted most {way} "
                                "“negative”.")


def test_a_sentence_with_markup_is_shown_escaped(text_runs):
    store, bow, _ = text_runs
    subject = ModelBank(store).subject(bow, "float")
    text = "<b>bold</b> [link](http://x.example) <script>alert(1)</script> fine"
    a = M.explain(subject, None, "ig", 1, text=text)
    html = sentence_html(text, subject.coder.words(text), a.values, "<i>positive</i>")
    assert "<b>" not in html and "<script>" not in html and "<i>" not in html
    assert "&lt;i&gt;positive" in html
    # every word is there, highlighted, in its place: our own tags taken away, the text
    # reads exactly as typed
    assert html.count("<span title=") == len(a.words)
    assert unescape(re.sub(r"<[^>]*>", "", html)) == text


def test_the_tiny_berts_attention_by_word_is_the_last_layers_mean_over_heads(text_runs):
    store, _, bert = text_runs
    subject = ModelBank(store).subject(bert, "float")
    words, matrix = attention_by_word(subject.model, subject.coder, SENTENCE)
    assert words == ["not", "good", "at", "all"] and matrix.shape == (4, 4)
    ids = torch.from_numpy(subject.coder.encode([SENTENCE]))
    with torch.no_grad():
        heads = subject.model.attentions(ids)[-1][0].mean(0).numpy()
    # each word here is one piece: its row is the attention between word positions 1..4
    np.testing.assert_allclose(matrix, heads[1:5, 1:5], atol=1e-6)
    assert (matrix.sum(axis=1) <= 1 + 1e-6).all()


def test_the_job_path_caches_a_text_request(text_runs):
    store, bow, _ = text_runs
    jobs = ExplainJobs(store)
    subject = jobs.bank.subject(bow, "float")
    x = subject.coder.encode([SENTENCE])[0]
    requests = [Request(bow, n, "float", 1, M.settings(n, subject), x=x, text=SENTENCE)
                for n in TEXT_METHODS]
    assert jobs.submit(requests) is not None
    assert drain_jobs(store) == 1  # what a worker does, here in this process
    progress = jobs.wait(requests, timeout=5)
    assert progress.done == len(requests) and not progress.errors
    for r in requests:
        assert jobs.result(r).words == ["not", "good", "at", "all"]
    assert jobs.submit(requests) is None  # cached now: nothing is queued again
    # The request carries the sentence through JSON; another sentence is another entry,
    # even one with the same token ids (the words shown differ).
    again = Request.from_json(json.loads(json.dumps(requests[0].to_json())))
    assert again.key == requests[0].key and again.text == SENTENCE
    shouted = Request(bow, "lime", "float", 1, requests[0].settings, x=x, text=SENTENCE.upper())
    assert shouted.key != requests[0].key


def test_cli_explains_a_typed_sentence_word_by_word(text_runs, capsys):
    from playground.cli.main import main

    store, bow, _ = text_runs
    assert main(["--home", str(store.home), "explain", bow, "--text", SENTENCE, "--method",
                 ",".join(TEXT_METHODS), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == SENTENCE and out["words"] == ["not", "good", "at", "all"]
    assert out["index"] is None and out["true_class"] is None
    probs = ModelBank(store).predict_texts(bow, "float", [SENTENCE])[0]
    assert out["decision"] == int(probs.argmax()) == out["predicted_class"]
    assert list(out["methods"]) == TEXT_METHODS
    for m in out["methods"].values():
        assert [w["word"] for w in m["weights"]] == out["words"]
        assert [w["weight"] for w in m["weights"]] == pytest.approx(m["attributions"])
    assert "“" in out["verdict"]["sentence"]
    # A test sentence by default; methods that cannot read text are refused with the choice.
    assert main(["--home", str(store.home), "explain", bow, "--index", "2", "--method",
                 "ig", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == str(ModelBank(store).loaded(bow).data.texts[2][2])
    assert main(["--home", str(store.home), "explain", bow, "--method", "occlusion"]) == 2
    assert "lime,shap,ig" in capsys.readouterr().err


def test_the_explain_page_highlights_a_typed_sentence_escaped_and_answers_it(app_home):
    """The page on a text run: the what-if sentence (with markup in it) is answered and its
    words highlighted by each chosen method, computed by the worker's code, shown as text."""
    from streamlit.testing.v1 import AppTest

    from components.base.services import refresh_live
    from components.explain import pick as explain_pick

    store = Store(app_home)
    run_id = train_now(store, dataset="reviews", model="bow", epochs=2, seed=1)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/explain.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="explain_methods").value == TEXT_METHODS
    at.multiselect(key="explain_methods").set_value(["lime", "ig"]).run()
    typed = "not **good** <b>at</b> all [x](http://x.example)"
    at.text_input(key="explain_text_whatif").input(typed).run()
    try:
        for _ in range(20):
            htmls = [h.proto.body for h in at.get("html") if "<span title=" in h.proto.body]
            if len(htmls) == 2:
                break
            drain_jobs(store)  # what a worker does, here in this process
            refresh_live()
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        assert len(htmls) == 2  # one highlighted sentence per method
        for body in htmls:
            assert "<b>" not in body and "&lt;b&gt;" not in body  # split into words, escaped
            assert unescape(re.sub(r"<[^>]*>", "", body)) == typed
        markdown = "\n".join(m.value for m in at.markdown)
        assert "not \\*\\*good\\*\\* \\<b\\>at" in markdown  # the sentence, as typed
        said = ModelBank(store).predict_texts(run_id, "float", [typed])[0].argmax()
        names = ModelBank(store).loaded(run_id).data.class_names
        assert f"→ **{names[said]}**" in markdown and "**Verdict:**" in markdown
    finally:
        explain_pick._runner.clear()
