"""Explanations against the methods' own guarantees, plus agreement, sanity, cache, CLI.

Tiny models built here (fixed seeds, CPU) for the maths; two short real runs in a store
for the paths that start from a run (cache, background runner, sanity check, CLI).
"""
from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from playground.explain import methods as M
from playground.explain.agreement import compare, rank_correlation, top_k, top_k_overlap
from playground.explain.cache import ExplanationCache, Request, input_id
from playground.explain.jobs import ExplainJobs, explain_cached, global_importance
from playground.explain.methods.lime import grid_segments
from playground.explain.sanity import judge
from playground.explain.subjects import ModelBank
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.training.quantize import quantize
from tests.run_support import train_now as finished_run

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["lime", "shap", "ig", "saliency", "occlusion"]


def tabular_subject(model: nn.Module, n_features: int, seed: int = 0,
                    quantized: bool = False) -> M.Subject:
    rng = np.random.default_rng(seed)
    background = rng.normal(size=(120, n_features)).astype(np.float32)
    return M.Subject(model.eval(), background, "tabular",
                     [f"f{i}" for i in range(n_features)], ["no", "yes"], quantized=quantized)


def image_subject(model: nn.Module, seed: int = 0) -> M.Subject:
    rng = np.random.default_rng(seed)
    background = rng.uniform(0, 1, size=(80, 1, 8, 8)).astype(np.float32)
    return M.Subject(model.eval(), background, "image",
                     [f"pixel ({r},{c})" for r in range(8) for c in range(8)],
                     [str(c) for c in range(3)])


def small_mlp(n_in: int, n_out: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, 16), nn.Tanh(), nn.Linear(16, n_out))


class OneFeature(nn.Module):
    """Two classes, decided by one input feature only: logits (+a*x_j, -a*x_j)."""

    def __init__(self, feature: int, strength: float = 1.5):
        super().__init__()
        self.feature, self.strength = feature, strength

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.flatten(1)[:, self.feature:self.feature + 1] * self.strength
        return torch.cat([v, -v], dim=1)


# -- shapes and the interface --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tabular", "image"])
def test_every_method_returns_one_attribution_per_input_value(kind):
    if kind == "tabular":
        subject = tabular_subject(small_mlp(6, 2), 6)
    else:
        subject = image_subject(small_mlp(64, 3))
    x = subject.background[0]
    for name in METHODS:
        a = M.explain(subject, x, name, 1)
        assert a.values.shape == x.shape, name
        assert np.isfinite(a.values).all(), name
        assert a.target == 1 and a.seconds >= 0 and a.method == name
        assert np.abs(a.values).max() > 0, f"{name} gave an all-zero map"
        json.dumps(a.to_json())  # the CLI prints it


def test_a_wrong_input_shape_is_refused_with_both_shapes_named():
    subject = tabular_subject(small_mlp(6, 2), 6)
    with pytest.raises(ValueError, match=r"\(5,\).*\(6,\)"):
        M.explain(subject, np.zeros(5, np.float32), "ig", 0)


# -- SHAP: efficiency (the values add up to f(x) - E[f]) ------------------------------------


def test_kernel_shap_values_sum_to_the_output_minus_the_expected_output():
    subject = tabular_subject(small_mlp(8, 2, seed=1), 8, quantized=True)  # kernel path
    x = subject.background[3]
    a = M.explain(subject, x, "shap", 1)
    assert a.extras["explainer"].startswith("KernelExplainer")
    f_x = subject.scores(x[None])[0, 1]  # the explained output: the class's log-odds
    # E[f] over the k-means background summary the explainer used, computed here.
    import shap

    summary = shap.kmeans(subject.background, M.settings("shap", subject)["kernel_background"])
    expected = float(np.sum(summary.weights * subject.scores(summary.data)[:, 1])
                     / summary.weights.sum())
    assert a.extras["base_value"] == pytest.approx(expected, abs=1e-6)
    assert a.values.sum() == pytest.approx(f_x - expected, abs=1e-5)


def _brute_force_shapley(f, x: np.ndarray, background: np.ndarray,
                         weights: np.ndarray) -> np.ndarray:
    """Exact Shapley values of v(S) = E_b[f(x_S, b_rest)] by enumerating every subset."""
    n = len(x)
    weights = weights / weights.sum()

    def value(subset: tuple[int, ...]) -> float:
        rows = background.copy()
        rows[:, list(subset)] = x[list(subset)]
        return float(np.sum(weights * f(rows)))

    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            for subset in itertools.combinations(others, size):
                w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                phi[i] += w * (value(subset + (i,)) - value(subset))
    return phi


def test_kernel_shap_equals_brute_force_shapley_values_on_a_small_model():
    import shap

    subject = tabular_subject(small_mlp(5, 2, seed=2), 5, quantized=True)
    x = subject.background[7]
    settings = M.settings("shap", subject, kernel_nsamples=200)  # >= 2^5: every coalition
    a = M.explain(subject, x, "shap", 0, settings)
    summary = shap.kmeans(subject.background, settings["kernel_background"])
    reference = _brute_force_shapley(lambda rows: subject.scores(rows)[:, 0], x,
                                     summary.data.astype(np.float32), summary.weights)
    np.testing.assert_allclose(a.values, reference, atol=1e-4)


def test_gradient_shap_adds_up_to_the_output_minus_the_expected_output_approximately():
    # Expected gradients is a Monte Carlo estimate: additive in expectation, so with many
    # samples the sum lands close to f(x) - E[f(background)].
    subject = tabular_subject(small_mlp(6, 2, seed=3), 6)
    x = subject.background[5]
    options = M.settings("shap", subject, gradient_nsamples=4000, gradient_batch_size=4000,
                         gradient_background=120)
    a = M.explain(subject, x, "shap", 1, options)
    assert a.extras["explainer"].startswith("GradientExplainer")
    gap = a.extras["model_output"] - a.extras["base_value"]
    assert a.values.sum() == pytest.approx(gap, abs=0.02 + 0.05 * abs(gap))


# -- Integrated Gradients: completeness ----------------------------------------------------


@pytest.mark.parametrize("kind", ["tabular", "image"])
def test_integrated_gradients_add_up_to_the_change_from_the_baseline(kind):
    subject = tabular_subject(small_mlp(6, 2, 4), 6) if kind == "tabular" \
        else image_subject(small_mlp(64, 3, 4))
    x = subject.background[2]
    a = M.explain(subject, x, "ig", 1)
    ends = subject.scores(np.stack([x, np.zeros_like(x)]))[:, 1]
    gap = ends[0] - ends[1]
    assert a.values.sum() == pytest.approx(gap, abs=1e-3)
    # Captum's convergence delta is exactly that gap's error, and small.
    assert a.extras["convergence_delta"] == pytest.approx(abs(a.values.sum() - gap), abs=1e-5)
    assert a.extras["convergence_delta"] < 1e-3


def test_a_model_that_is_certain_still_gets_a_map_from_every_method():
    # Logits 40 apart: the probability is 1.0 in float32 and cannot move, the log-odds
    # the methods explain still can.
    feature = 1
    subject = tabular_subject(OneFeature(feature, strength=20.0), 5)
    x = subject.background[0].copy()
    x[feature] = 1.0
    assert subject.probs(x[None])[0, 0] == 1.0
    assert subject.scores(x[None])[0, 0] == pytest.approx(40.0)
    for name in METHODS:
        a = M.explain(subject, x, name, 0)
        assert int(np.argmax(np.abs(a.values))) == feature, name
        assert np.abs(a.values).max() > 1e-3, name  # a real signal, not float32 dust


def test_log_odds_are_log_p_over_one_minus_p():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    p = torch.softmax(logits.double(), dim=1)
    expected = torch.log(p / (1 - p))
    torch.testing.assert_close(M.log_odds(logits).double(), expected, rtol=1e-5, atol=1e-6)


# -- a model that uses one feature: every method must find it ------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_every_method_ranks_the_only_feature_the_model_uses_first_tabular(name):
    feature = 4
    subject = tabular_subject(OneFeature(feature), 7)
    x = subject.background[0].copy()
    x[feature] = 1.0
    a = M.explain(subject, x, name, 0)
    assert int(np.argmax(np.abs(a.values))) == feature, a.values


@pytest.mark.parametrize("name", METHODS)
def test_every_method_ranks_the_only_pixel_the_model_uses_first_image(name):
    row, col = 3, 4
    subject = image_subject(OneFeature(row * 8 + col))
    x = subject.background[1].copy()
    x[0, row, col] = 1.0
    a = M.explain(subject, x, name, 0)
    assert np.unravel_index(np.argmax(np.abs(a.values)), a.values.shape) == (0, row, col)


def test_perturbation_methods_find_the_one_feature_of_an_int8_model_too():
    feature = 2
    torch.manual_seed(0)
    linear = nn.Linear(6, 2)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[0, feature], linear.weight[1, feature] = 1.5, -1.5
        linear.bias.zero_()
    model, _ = quantize(nn.Sequential(linear), "int8", torch.device("cpu"))
    subject = tabular_subject(model, 6, quantized=True)
    x = subject.background[0].copy()
    x[feature] = 1.0
    for name in ("lime", "shap", "occlusion"):
        a = M.explain(subject, x, name, 0)
        assert int(np.argmax(np.abs(a.values))) == feature, name


def test_gradient_methods_refuse_an_int8_model_and_say_what_to_do_instead():
    model, _ = quantize(small_mlp(6, 2), "int8", torch.device("cpu"))
    subject = tabular_subject(model, 6, quantized=True)
    for name in ("ig", "saliency"):
        with pytest.raises(M.GradientsUnavailable) as info:
            M.explain(subject, subject.background[0], name, 0)
        message = str(info.value)
        assert "int8" in message and "float model" in message and "LIME" in message
    assert M.settings("shap", subject)["explainer"] == "kernel"


# -- the records, and determinism without global randomness --------------------------------


def test_every_method_declares_its_record_and_the_lists_follow_it():
    assert M.method_names() == METHODS  # in their declared order
    assert M.default_methods() == ["lime", "shap", "ig"]
    assert M.overall_method() == "shap"
    assert M.without_gradients() == ["lime", "shap", "occlusion"]
    for name in METHODS:
        m = M.method(name)
        assert m.title and m.blurb.endswith(".") and m.terms, name
        assert M.KINDS <= m.modality, name  # every method explains every numeric input
        assert "seed" not in m.defaults or m.name in ("lime", "shap"), name
    assert [m for m in METHODS if M.method(m).needs_gradients] == ["ig", "saliency"]
    assert M.method_names(M.TEXT) == ["lime", "shap", "ig"]  # these also explain sentences


@pytest.mark.parametrize("kind", ["tabular", "image", "int8"])
def test_the_same_input_and_seed_give_the_same_map_twice(kind):
    if kind == "image":
        subject = image_subject(small_mlp(64, 3, 5))
    elif kind == "tabular":
        subject = tabular_subject(small_mlp(6, 2, 5), 6)
    else:  # Kernel SHAP: 12 features have more coalitions than it evaluates, so it samples
        subject = tabular_subject(small_mlp(12, 2, 5), 12, quantized=True)
    x = subject.background[4]
    for name in M.method_names() if kind != "int8" else M.without_gradients():
        first = M.explain(subject, x, name, 1).values
        second = M.explain(subject, x, name, 1).values
        np.testing.assert_array_equal(first, second, err_msg=name)
        if "seed" in M.settings(name, subject):  # the seed is what fixes them
            other = M.explain(subject, x, name, 1, M.settings(name, subject, seed=1)).values
            assert not np.array_equal(first, other), name


def test_explaining_leaves_numpys_global_stream_where_it_was():
    subject = tabular_subject(small_mlp(12, 2, 6), 12, quantized=True)  # Kernel SHAP samples
    before = np.random.get_state()
    for name in M.without_gradients():
        M.explain(subject, subject.background[1], name, 0)
    after = np.random.get_state()
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2] == before[2]
    # The float model's SHAP (expected gradients) seeds it inside shap: restored too.
    float_subject = tabular_subject(small_mlp(6, 2, 6), 6)
    M.explain(float_subject, float_subject.background[1], "shap", 0)
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])


@pytest.mark.parametrize("hide_color", [0.0, None])
def test_lime_on_a_picture_equals_lime_image_explainers_own_answer(hide_color):
    # The playground feeds LIME's core the perturbations LimeImageExplainer draws; with the
    # same seed, segments and settings both must give the same weights.
    from lime import lime_image

    subject = image_subject(small_mlp(64, 3, 7))
    x = subject.background[2]
    options = M.settings("lime", subject, num_samples=300, patch=2, hide_color=hide_color,
                         seed=3)
    ours = M.explain(subject, x, "lime", 2, options)
    segments = grid_segments(8, 8, 2)
    exp = lime_image.LimeImageExplainer(random_state=3).explain_instance(
        x[0].astype(np.float64), lambda batch: subject.scores(np.moveaxis(batch[..., :1], -1, 1)),
        labels=(2,), top_labels=None, hide_color=hide_color, num_samples=300,
        batch_size=options["batch_size"], segmentation_fn=lambda _: segments, random_seed=3)
    reference = np.zeros((8, 8))
    for segment, weight in exp.local_exp[2]:
        reference[segments == segment] = weight
    np.testing.assert_allclose(ours.values[0], reference, rtol=1e-5, atol=1e-6)
    assert ours.extras["fit_r2"] == pytest.approx(exp.score)
    assert ours.extras["segments"] == 16


def test_a_method_refuses_data_it_does_not_explain_and_names_those_that_do(monkeypatch):
    subject = tabular_subject(small_mlp(6, 2), 6)
    occlusion = M.method("occlusion")
    monkeypatch.setattr(occlusion, "modality", frozenset({"image"}), raising=False)
    assert "occlusion" not in M.method_names("tabular")
    with pytest.raises(ValueError, match="Occlusion does not explain tabular data; choose "
                                         "from LIME, SHAP, Integrated Gradients or Saliency"):
        M.explain(subject, subject.background[0], "occlusion", 0)


# -- agreement -----------------------------------------------------------------------------


def test_identical_maps_agree_fully_and_the_sentence_says_so():
    a = np.random.default_rng(0).normal(size=64)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert top_k_overlap(a, a, 5) == 1.0
    agreement = compare(a, a.copy(), "LIME", "SHAP")
    assert agreement.sentence.startswith("LIME and SHAP agree on the 5 most important pixels")
    # Importance ignores the sign: an opposite map ranks the same features.
    assert rank_correlation(a, -a) == pytest.approx(1.0)


def test_rank_correlation_matches_scipy_spearman_including_ties():
    rng = np.random.default_rng(1)
    for _ in range(5):
        a, b = rng.normal(size=30), rng.normal(size=30)
        a[:6] = 0.0  # ties, as blank pixels give
        expected = spearmanr(np.abs(a), np.abs(b)).statistic
        assert rank_correlation(a, b) == pytest.approx(expected, abs=1e-12)


def test_agreement_scores_of_known_cases():
    a = np.array([5.0, 4, 3, 2, 1])
    b = a[::-1].copy()
    assert rank_correlation(a, b) == pytest.approx(-1.0)
    assert top_k(a, 2) == {0, 1}
    assert top_k_overlap(a, b, 2) == 0.0
    assert top_k_overlap(a, b, 3) == pytest.approx(1 / 3)  # only feature 2 is in both
    c = np.array([5.0, 4, 1, 2, 3])
    assert top_k_overlap(a, c, 2) == 1.0
    assert "share 1 of their 3" in compare(a, b, "A", "B", "feature", k=3).sentence
    assert "pick different top 2 features" in compare(a, b, "A", "B", "feature", k=2).sentence
    # A flat map has no order: it matches only an identical flat map.
    assert rank_correlation(np.zeros(4), np.zeros(4)) == 1.0
    assert rank_correlation(np.zeros(4), np.arange(4.0)) == 0.0


# -- runs in a store: cache, runner, sanity check, global view ------------------------------



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("explain") / "home")
    digits = finished_run(store, dataset="digits", model="mlp", epochs=3, seed=0)
    int8 = finished_run(store, dataset="breast_cancer", model="mlp", epochs=2, quantize="int8")
    return store, digits, int8


def test_an_explanation_is_cached_in_the_run_folder_and_a_revisit_is_not_recomputed(runs):
    store, digits, _ = runs
    bank = ModelBank(store)
    x = bank.loaded(digits).data.X_test[4]
    request = Request(digits, "occlusion", "float", 3, M.settings("occlusion"), x=x)
    first, cached = explain_cached(bank, ExplanationCache(store), request)
    assert not cached
    path = store.artifact_dir(digits) / "explanations" / f"{request.key}.safetensors"
    assert path.exists()
    fresh_cache = ExplanationCache(store)  # nothing in memory: read back from disk
    again, cached = explain_cached(bank, fresh_cache, request)
    assert cached
    np.testing.assert_array_equal(again.values, first.values)
    assert again.target == 3 and again.seconds == first.seconds

    # Anything that changes the answer changes the key; the same values give the same key.
    edited = x.copy()
    edited[0, 0, 0] += 0.5
    other = [Request(digits, "occlusion", "float", 3, M.settings("occlusion"), x=edited),
             Request(digits, "occlusion", "random", 3, M.settings("occlusion"), x=x),
             Request(digits, "occlusion", "float", 4, M.settings("occlusion"), x=x),
             Request(digits, "occlusion", "float", 3, M.settings("occlusion", patch=3), x=x),
             Request(digits, "lime", "float", 3, M.settings("lime"), x=x)]
    assert len({r.key for r in other} | {request.key}) == len(other) + 1
    assert Request(digits, "occlusion", "float", 3, M.settings("occlusion"),
                   x=x.copy()).key == request.key
    assert input_id(x) != input_id(edited)


def test_explanations_queue_as_one_job_and_a_failure_is_reported_per_request(runs):
    store, digits, int8 = runs
    jobs = ExplainJobs(store)
    x_digit = jobs.bank.loaded(digits).data.X_test[0]
    x_row = jobs.bank.loaded(int8).data.X_test[0]
    int8_subject = jobs.bank.subject(int8, "int8")
    requests = [Request(digits, m, "float", 1, M.settings(m), x=x_digit) for m in METHODS]
    requests.append(Request(int8, "shap", "int8", 0, M.settings("shap", int8_subject), x=x_row))
    bad = Request(int8, "ig", "int8", 0, M.settings("ig"), x=x_row)  # int8 has no gradients
    job_id = jobs.submit(requests + [bad])
    job = store.get_job(job_id)
    assert job.status == "queued" and job.total == len(requests) + 1
    assert not jobs.progress(requests + [bad]).finished
    assert drain_jobs(store) == 1  # what a worker does, here in this process
    progress = jobs.wait(requests + [bad], timeout=5)
    assert progress.finished and progress.done == len(requests) and progress.failed == 1
    assert "int8" in progress.errors[bad.key]
    for r in requests:
        assert jobs.result(r).values.shape == r.x.shape
    assert jobs.result(requests[-1]).extras["explainer"].startswith("KernelExplainer")
    assert jobs.submit(requests) is None  # all cached now: nothing is queued again
    assert jobs.submit([bad]) is None  # a known failure waits for "Try again"
    jobs.retry([bad])
    assert drain_jobs(store) == 1 and jobs.wait([bad], timeout=5).failed == 1  # asked again


def test_a_session_asking_for_something_new_drops_its_unstarted_requests(runs):
    store, digits, _ = runs
    jobs = ExplainJobs(store)
    X = jobs.bank.loaded(digits).data.X_test
    first = [Request(digits, "occlusion", "float", 1, M.settings("occlusion"), x=X[1])]
    second = [Request(digits, "occlusion", "float", 1, M.settings("occlusion"), x=X[2])]
    old = jobs.submit(first, requester="session-a")
    assert jobs.submit(first, requester="session-a") is None  # the same view: on its way
    other = jobs.submit(first, requester="session-b")  # someone else's is their own
    new = jobs.submit(second, requester="session-a")
    assert store.get_job(old).status == "cancelled"
    assert store.get_job(other).status == "queued" and store.get_job(new).status == "queued"
    assert drain_jobs(store) == 2
    assert jobs.wait(first + second, timeout=5).done == 2
    assert not jobs.progress(first).errors  # a replaced job is not a failure


def test_the_global_view_is_the_mean_size_of_each_examples_attribution(runs):
    store, digits, _ = runs
    bank = ModelBank(store)
    subject = bank.subject(digits, "float")
    X = bank.loaded(digits).data.X_test[:4]
    options = M.settings("occlusion")
    overall = global_importance(subject, X, "occlusion", options)
    targets = subject.probs(X).argmax(1)
    singles = [np.abs(M.explain(subject, x, "occlusion", int(t), options).values)
               for x, t in zip(X, targets, strict=True)]
    np.testing.assert_allclose(overall.values, np.mean(singles, axis=0), rtol=1e-6)
    assert overall.values.shape == X.shape[1:] and (overall.values >= 0).all()


@pytest.mark.parametrize("name", ["saliency", "ig"])
def test_the_randomisation_check_separates_the_trained_model_from_a_random_one(runs, name):
    store, digits, _ = runs
    bank = ModelBank(store)
    trained, randomised = bank.subject(digits, "float"), bank.subject(digits, "random")
    X = bank.loaded(digits).data.X_test[:6]
    same, different = [], []
    for x in X:
        target = int(trained.probs(x[None]).argmax())
        a = M.explain(trained, x, name, target).values
        again = M.explain(trained, x, name, target).values
        b = M.explain(randomised, x, name, target).values
        same.append(judge(name, a, again))
        different.append(judge(name, a, b))
    assert all(s.rho == pytest.approx(1.0) and s.verdict == "fails" for s in same)
    assert np.mean([d.rho for d in different]) < 0.5
    assert max(d.rho for d in different) < min(s.rho for s in same)


def test_the_randomisation_score_leaves_out_features_both_maps_leave_at_zero():
    trained = np.array([0.0, 0.0, 0.0, 3.0, 2.0, 1.0])
    randomised = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])
    # Over all six, the shared zeros make the maps look alike; over the rest they are
    # in opposite order.
    assert rank_correlation(trained, randomised) > 0.5
    result = judge("Integrated Gradients", trained, randomised)
    assert result.rho == pytest.approx(-1.0) and result.verdict == "passes"


# -- the command line ----------------------------------------------------------------------


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}
    return subprocess.run([sys.executable, "-m", "playground", "--home", str(home), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_cli_explain_prints_each_methods_attributions_target_and_seconds(runs):
    store, digits, int8 = runs
    result = cli(store.home, "explain", digits, "--index", "7", "--method",
                 "lime,shap,ig,saliency,occlusion", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["input_shape"] == [1, 8, 8] and out["index"] == 7
    assert list(out["methods"]) == METHODS
    data = ModelBank(store).loaded(digits).data
    assert out["true_class"] == int(data.y_test[7])
    for name, m in out["methods"].items():
        assert np.asarray(m["attributions"]).shape == (1, 8, 8), name
        assert m["target"] == out["predicted_class"] and m["seconds"] > 0
    assert "convergence_delta" in out["methods"]["ig"]
    # The verdict, from the same maps: each method's pick, and one sentence on whether
    # they agree (a picture: where, in words, or how far their top pixels overlap).
    verdict = out["verdict"]
    assert list(verdict["top"]) == [M.method(n).title for n in METHODS]
    assert verdict["agree"] in (True, False)
    assert ("treat this with care" in verdict["sentence"]) == (not verdict["agree"])
    assert any(d["check"].startswith("completeness gap") and d["meaning"]
               for d in verdict["details"])

    # The same question again comes from the cache the page shares.
    again = cli(store.home, "explain", digits, "--index", "7", "--method", "ig", "--json")
    ig = json.loads(again.stdout)["methods"]["ig"]
    assert ig["cached"] and ig["attributions"] == out["methods"]["ig"]["attributions"]


def test_cli_explain_refuses_bad_requests_with_the_fix(runs, capsys):
    from playground.cli.main import main

    store, digits, int8 = runs
    home = str(store.home)
    assert main(["--home", home, "explain", int8, "--method", "ig,lime"]) == 2
    assert "--variant float" in capsys.readouterr().err
    assert main(["--home", home, "explain", digits, "--index", "100000"]) == 2
    assert "index must be 0 to" in capsys.readouterr().err
    assert main(["--home", home, "explain", digits, "--method", "gradcam"]) == 2
    assert "lime,shap,ig,saliency,occlusion" in capsys.readouterr().err
    assert main(["--home", home, "explain", "nosuchrun"]) == 2
    assert "no run has this id" in capsys.readouterr().err
    # The float model of an int8 run can be explained with gradients.
    assert main(["--home", home, "explain", int8, "--variant", "float", "--method", "ig",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["variant"] == "float"
