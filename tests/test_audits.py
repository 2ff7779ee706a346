"""The attacks every finished run gets: membership inference and FGSM/PGD robustness.

Checked against the library itself (the Adversarial Robustness Toolbox run directly on
the same model and records gives the same numbers), against mathematical properties
(the (ε, δ)-DP ceiling on any attack; PGD at least as strong as FGSM), and against the
issue's own setups (an overfit network leaks, DP-SGD at ε ≈ 1 leaks less and stays under
its ceiling; adversarial training buys accuracy under PGD).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from playground.training.audits import INT8_NOTE, membership, robustness
from playground.training.config import ConfigError, make_config
from playground.training.loop import train

pytestmark = [pytest.mark.usefixtures("audits_on"), pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")]

# The setup: a wide, deep network on a fifth of the digits, for 60 epochs.
OVERFIT = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60,
               train_fraction=0.2, seed=0, device="cpu")
CNN = dict(dataset="digits", model="cnn", epochs=10, seed=0, device="cpu")  # the default run


@functools.lru_cache(maxsize=None)
def _run(**values):
    return train(make_config(**values))


# -- the (ε, δ) ceiling ----------------------------------------------------------------------

@pytest.mark.parametrize("epsilon,delta", [(0.1, 0.0), (1.0, 1e-5), (3.0, 0.01)])
def test_the_dp_ceiling_is_the_two_kairouz_inequalities(epsilon, delta):
    fpr = np.linspace(0, 1, 201)
    bound = membership.dp_tpr_bound(fpr, epsilon, delta)
    e = math.exp(epsilon)
    # Both inequalities hold on the curve, and one of them is tight at every point.
    assert np.all(bound <= e * fpr + delta + 1e-12)
    assert np.all(1 - fpr <= e * (1 - bound) + delta + 1e-12)
    tight = np.minimum(np.abs(bound - (e * fpr + delta)),
                       np.abs((1 - fpr) - (e * (1 - bound) + delta)))
    assert np.all((tight < 1e-9) | (bound == 1.0))
    assert bound[0] == pytest.approx(delta) and bound[-1] == 1.0
    assert np.all(np.diff(bound) >= 0) and np.all(np.diff(bound, 2) <= 1e-12)  # concave
    assert np.all(bound >= fpr - 1e-12)  # no promise is below a coin toss


def test_at_zero_epsilon_and_delta_the_ceiling_is_the_coin_toss():
    fpr = np.linspace(0, 1, 11)
    assert membership.dp_tpr_bound(fpr, 0.0, 0.0) == pytest.approx(fpr)


# -- membership inference --------------------------------------------------------------------

def test_the_audit_equals_arts_attack_run_directly_on_the_same_records():
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import PyTorchClassifier

    result = _run(**OVERFIT)  # the same run the next test reads
    ours = result.metrics["privacy_attack"]
    model, data = result.model.eval(), result.dataset
    Xm, ym, Xn, yn = membership.records(data, OVERFIT["seed"])
    assert len(Xm) == len(Xn) and ours["records"] == len(Xm) - len(Xm) // 2 + len(Xn) - len(Xn) // 2
    # Members really are training rows and non-members really are not.
    train_rows = {r.tobytes() for r in data.X_train}
    assert all(r.tobytes() in train_rows for r in Xm)
    assert not any(r.tobytes() in train_rows for r in Xn)
    clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(),
                            input_shape=data.input_shape, nb_classes=data.n_classes)
    from sklearn.ensemble import RandomForestClassifier

    attack = MembershipInferenceBlackBox(clf, input_type="loss", attack_model_type="rf")
    attack.attack_model = RandomForestClassifier(n_estimators=membership.TREES,
                                                 random_state=OVERFIT["seed"])
    half = len(Xm) // 2
    attack.fit(Xm[:half], ym[:half], Xn[:half], yn[:half])
    scores = np.concatenate([attack.infer(Xm[half:], ym[half:], probabilities=True).ravel(),
                             attack.infer(Xn[half:], yn[half:], probabilities=True).ravel()])
    truth = np.r_[np.ones(len(Xm) - half), np.zeros(len(Xn) - half)]
    assert ours["auc"] == pytest.approx(roc_auc_score(truth, scores))
    fpr, tpr = np.array(ours["roc"]).T
    assert ours["advantage"] == pytest.approx(np.max(tpr - fpr), abs=1e-3)
    assert ours["tpr_at_1pct_fpr"] == pytest.approx(tpr[fpr <= 0.01].max(), abs=1e-3)
    assert "MembershipInferenceBlackBox" in ours["attack"]


def test_an_overfit_network_leaks_and_privacy_noise_at_epsilon_one_leaks_less():
    plain = _run(**OVERFIT).metrics
    private = _run(**OVERFIT, dp_epsilon=1.0).metrics
    assert plain["privacy_attack"]["auc"] >= 0.55
    assert private["privacy_attack"]["auc"] <= plain["privacy_attack"]["auc"] - 0.03
    assert "dp_bound" not in plain["privacy_attack"]
    bound = private["privacy_attack"]["dp_bound"]
    assert bound["epsilon"] == private["epsilon"] and bound["delta"] == private["delta"]
    fpr, tpr = np.array(private["privacy_attack"]["roc"]).T
    ceiling = membership.dp_tpr_bound(fpr, private["epsilon"], private["delta"])
    assert np.all(tpr <= ceiling) and bound["holds"]


# -- robustness ------------------------------------------------------------------------------

def test_the_audit_equals_arts_fgsm_and_pgd_run_directly():
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    result = _run(**CNN)  # the same run the next test reads
    ours = result.metrics["robustness"]
    data = result.dataset
    clf = PyTorchClassifier(model=result.model.eval(), loss=torch.nn.CrossEntropyLoss(),
                            input_shape=data.input_shape, nb_classes=data.n_classes,
                            clip_values=(0.0, 1.0))
    X, y = data.X_test[:robustness.EXAMPLES], data.y_test[:robustness.EXAMPLES]

    def accuracy(x):
        return float((clf.predict(x).argmax(1) == y).mean())

    assert ours["strength"] == 0.1 and ours["examples"] == len(y)
    assert ours["clean_accuracy"] == pytest.approx(accuracy(X))
    assert ours["fgsm"]["accuracy"] == pytest.approx(
        accuracy(FastGradientMethod(clf, eps=0.1).generate(X, y)))
    assert ours["pgd"]["accuracy"] == pytest.approx(accuracy(ProjectedGradientDescent(
        clf, eps=0.1, eps_step=0.1 / 3, max_iter=robustness.PGD_STEPS,
        verbose=False).generate(X, y)))


def test_pgd_is_at_least_as_strong_as_fgsm_and_adversarial_training_resists_it():
    """The issue's setup: the default CNN for 10 epochs, then the same with adversarial
    training at the audit's strength."""
    plain = _run(**CNN).metrics["robustness"]
    assert plain["pgd"]["accuracy"] <= plain["fgsm"]["accuracy"] <= plain["clean_accuracy"]
    trained = _run(**CNN, adversarial_training=plain["strength"]).metrics
    assert trained["robustness"]["strength"] == plain["strength"]
    assert trained["robustness"]["pgd"]["accuracy"] > plain["pgd"]["accuracy"]
    assert trained["adversarial_training"]["attack_seconds"] > 0


def test_int8_runs_are_attacked_through_their_float_twin_and_say_so():
    m = _run(dataset="digits", model="mlp", width=32, epochs=2, quantize="int8",
             device="cpu").metrics
    assert m["robustness"]["note"] == INT8_NOTE


def test_two_d_points_get_the_privacy_attack_but_no_robustness_audit():
    m = _run(dataset="moons", model="mlp", epochs=2, device="cpu").metrics
    assert 0 <= m["privacy_attack"]["auc"] <= 1 and "robustness" not in m


def test_tables_are_attacked_in_standardised_units_without_clipping():
    m = _run(dataset="wine", model="mlp", epochs=5, device="cpu").metrics
    assert m["robustness"]["moves"] == "standardised feature"
    assert m["robustness"]["pgd"]["accuracy"] <= m["robustness"]["clean_accuracy"]


def test_adversarial_training_with_privacy_noise_is_refused_with_the_reason():
    with pytest.raises(ConfigError) as caught:
        make_config(dataset="digits", model="cnn", adversarial_training=0.1, dp_epsilon=3)
    assert any("Adversarial training" in p and "ε would no longer hold" in p
               for p in caught.value.problems)


def test_a_server_can_switch_the_attacks_off_and_its_runs_say_so(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_AUDITS", "off")
    m = train(make_config(dataset="moons", model="mlp", epochs=1, device="cpu")).metrics
    assert m["audits"] == "off"
    assert "privacy_attack" not in m and "robustness" not in m
