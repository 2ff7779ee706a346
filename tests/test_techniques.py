"""Each training technique really acts, checked against trusted references where they exist.

DP-SGD's ε is recomputed with Opacus' own accountants, the cosine schedule with torch's
CosineAnnealingLR, sparsity and weight sizes by counting in the returned model, and the
data a run never may touch against a fresh, uncached load of the dataset. Runs are tiny
(MLPs on digits, wine and moons, one to a few epochs) so the file stays fast on a CPU.
"""
from __future__ import annotations

import functools
import itertools
import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from playground.data.builtin import DATASETS
from playground.training import quantize as Q
from playground.training import techniques as T
from playground.training.config import ConfigError, make_config, problem_setting
from playground.training.loop import SilentReporter, TrainContext, train
from playground.training.measure import evaluate
from playground.training.privacy import EpsilonService, accountant_epsilon
from playground.training.quantize import CALIBRATION_EXAMPLES
from playground.training.techniques.augmentation import Augmentation

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")


@functools.lru_cache(maxsize=None)
def _run(**values):
    """Train once per distinct config in this test session (results are read, not changed)."""
    values.setdefault("dataset", "digits")
    values.setdefault("model", "mlp")
    values.setdefault("width", 32)
    values.setdefault("device", "cpu")
    return train(make_config(**values))


def fresh_dataset(name: str, seed: int = 0, noise: float = 0.2):
    """The dataset built again from its source, bypassing load_dataset's per-process cache."""
    return DATASETS.get(name)[1](seed, noise)


def context(**values) -> TrainContext:
    """A TrainContext as train() builds it, with the techniques' on_model hooks run."""
    values.setdefault("device", "cpu")
    config = make_config(**values)
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques))
    ctx.store = None
    ctx.hook("on_model")
    return ctx


def technique(ctx: TrainContext, name: str):
    return next(t for t in ctx.techniques if t.name == name)


def weight_tensors(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight.detach() for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def problems_of(**values) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_config(**values)
    return caught.value.problems


# -- differential privacy (DP-SGD) ---------------------------------------------------------

DP = {"epochs": 2, "batch_size": 128, "lr": 0.05}


def opacus_epsilon(kind: str, metrics: dict) -> float:
    from opacus.accountants import PRVAccountant, RDPAccountant

    accountant = {"prv": PRVAccountant, "rdp": RDPAccountant}[kind]()
    accountant.history = [(metrics["noise_multiplier"], metrics["sample_rate"],
                           metrics["dp_steps"])]
    return accountant.get_epsilon(delta=metrics["delta"])


def check_dp_bookkeeping(result, epochs: int, batch_size: int) -> None:
    m, n = result.metrics, len(result.dataset.y_train)
    batches = math.ceil(n / batch_size)
    # Poisson sampling: each example joins a step with probability 1 / (steps per epoch).
    assert m["sample_rate"] == pytest.approx(1 / batches, rel=1e-12)
    assert m["dp_steps"] == epochs * batches
    assert m["epochs_run"] == epochs
    eps = [h["epsilon"] for h in result.history]
    assert len(eps) == epochs
    assert all(b >= a for a, b in zip(eps, eps[1:], strict=False)), eps  # spending only grows
    assert eps[0] > 0
    assert eps[-1] == pytest.approx(m["epsilon"], rel=1e-9)


def test_dp_epsilon_is_opacus_prv_accountant():
    result = _run(dp_noise=1.0, **DP)
    m = result.metrics
    assert m["accountant"] == "prv"
    assert m["noise_multiplier"] == pytest.approx(1.0)
    # δ from the data size: well below one in the number of training examples.
    n = len(result.dataset.y_train)
    assert m["delta"] == pytest.approx(min(1e-5, 0.1 / n), rel=1e-12) and m["delta"] * n <= 0.1
    check_dp_bookkeeping(result, DP["epochs"], DP["batch_size"])
    assert m["epsilon"] == pytest.approx(opacus_epsilon("prv", m), rel=1e-6)
    assert isinstance(m["epsilon_meaning"], str) and m["epsilon_meaning"]


def test_dp_epsilon_is_still_opacus_when_the_helper_process_dies():
    # Each epoch's ε comes from a forked helper. Killed mid-run, with its answers still
    # owed, the run asks the accountant itself; the next query forks a new helper.
    class KilledAfterPlanning(EpsilonService):
        def new_run(self, futures):
            super().new_run(futures)
            helper = self.helper()
            helper.kill()
            helper.join(10)

    epsilons = KilledAfterPlanning()
    try:
        result = train(make_config(dataset="digits", model="mlp", width=32, device="cpu",
                                   dp_noise=1.3, **DP), epsilons=epsilons)
        check_dp_bookkeeping(result, DP["epochs"], DP["batch_size"])
        for h, steps in zip(result.history, (1, 2), strict=True):
            m = {**result.metrics, "dp_steps": steps * result.metrics["dp_steps"] // 2}
            assert h["epsilon"] == pytest.approx(opacus_epsilon("prv", m), rel=1e-6)
        again = EpsilonService()
        epsilons.forget()
        future = epsilons.plan("prv", 1.4, 0.1, 20, 1e-5)  # a new helper answers
        assert future.result(timeout=60) == again.epsilon("prv", 1.4, 0.1, 20, 1e-5)
        assert epsilons.helper() is not None and epsilons.helper().is_alive()
    finally:
        epsilons.close()
    assert epsilons.helper() is None


def test_training_does_not_wait_for_epsilon_and_every_epoch_gets_it():
    # The helper's answers are futures this test completes by hand: epoch 1's comes in
    # while epoch 2 is being reported, the rest only when the last epoch is. Training
    # must go on without them, re-report each epoch with its ε once it is in (epoch 1
    # mid-training, the others at the end), and each ε must be Opacus' own.
    from concurrent.futures import Future

    owed: dict[int, tuple[Future, tuple]] = {}

    class ByHand(EpsilonService):
        def plan(self, *key):
            owed[key[3]] = (Future(), key)  # key[3]: steps
            return owed[key[3]][0]

    def answer(steps):
        future, key = owed[steps]
        if not future.done():
            future.set_result(accountant_epsilon(*key))

    class Recorder(SilentReporter):
        def __init__(self):
            self.reports = []

        def epoch(self, epoch, values, fraction):
            self.reports.append((epoch, dict(values)))
            if "epsilon" in values:
                return
            if epoch == 2:
                answer(min(owed))
            if epoch == 3:
                for steps in owed:
                    answer(steps)

    reporter = Recorder()
    config = make_config(dataset="digits", model="mlp", width=32, device="cpu",
                         dp_noise=1.15, epochs=3, batch_size=128, lr=0.05)
    result = train(config, reporter, epsilons=ByHand())
    order = [(epoch, "epsilon" in values) for epoch, values in reporter.reports]
    assert order == [(1, False), (2, False), (1, True), (3, False), (2, True), (3, True)]
    first = {epoch: values for epoch, values in reversed(reporter.reports)}
    last = dict(reporter.reports)
    steps_per_epoch = result.metrics["dp_steps"] // 3
    for epoch, values in last.items():
        m = {**result.metrics, "dp_steps": epoch * steps_per_epoch}
        assert values["epsilon"] == pytest.approx(opacus_epsilon("prv", m), rel=1e-6)
        assert {k: v for k, v in values.items() if k != "epsilon"} == first[epoch]
        assert result.history[epoch - 1]["epsilon"] == values["epsilon"]
    assert result.metrics["epsilon"] == last[3]["epsilon"]


def test_noise_drawn_ahead_trains_the_very_same_model(monkeypatch):
    # Drawing the next step's noise on a spare core must not change a single number.
    from playground.training.techniques import dp_clipping

    config = make_config(dataset="digits", model="mlp", width=32, device="cpu",
                         dp_noise=1.0, epochs=2, batch_size=128, lr=0.05)
    in_place = train(config)
    monkeypatch.setattr(dp_clipping, "_cores", lambda: 1024)
    monkeypatch.setattr(dp_clipping, "AHEAD_FROM", 1)
    drawn = []
    monkeypatch.setattr(dp_clipping.BookKeepingClipper, "_draw",
                        lambda self, draw=dp_clipping.BookKeepingClipper._draw:
                        drawn.append(threading.current_thread().name) or draw(self))
    ahead = train(config)
    assert any(name.startswith("dp-noise") for name in drawn)  # it did draw on the thread
    def numbers(result):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in result.history]

    assert numbers(ahead) == numbers(in_place)
    for a, b in zip(ahead.model.state_dict().values(), in_place.model.state_dict().values(),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_conv_patches_are_unfolds_columns_channels_last():
    from playground.training.techniques.dp_clipping import patches

    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2), padding=(1, 2))
    a = torch.randn(5, 3, 9, 11)
    cols = nn.functional.unfold(a, conv.kernel_size, conv.dilation, conv.padding, conv.stride)
    n, _, positions = cols.shape
    expected = cols.view(n, 3, 6, positions).permute(0, 3, 2, 1).reshape(n, positions, 18)
    torch.testing.assert_close(patches(a, conv), expected)
    assert patches(a, conv).shape[1] == conv(a).shape[2] * conv(a).shape[3]


def test_book_keeping_leaves_frozen_layers_alone_and_refuses_half_frozen_ones():
    from playground.training.techniques.dp_clipping import BookKeepingClipper, unsupported_layers

    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    model[0].requires_grad_(False)
    assert unsupported_layers(model) == []
    clipper = BookKeepingClipper(model, 1.0, 0.0, 4)
    x, y = torch.randn(4, 6), torch.tensor([0, 1, 2, 1])
    clipper.backward(nn.functional.cross_entropy(model(x), y), 4)
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    model[2].bias.requires_grad_(False)
    assert unsupported_layers(model) == ["2 (Linear)"]


def test_a_cancelled_dp_run_does_not_leave_its_epsilon_questions_queued():
    from playground.training.loop import Cancelled

    class StopAtOnce(SilentReporter):
        def should_stop(self) -> bool:
            return True

    epsilons = EpsilonService()  # one worker's, shared by its runs
    config = make_config(dataset="digits", model="mlp", width=32, device="cpu", epochs=30,
                         dp_noise=1.7, batch_size=128, lr=0.05)
    try:
        with pytest.raises(Cancelled):
            train(config, StopAtOnce(), epsilons=epsilons)
        owed = epsilons.owed()
        assert len(owed) == 30
        result = train(make_config(dataset="digits", model="mlp", width=32, device="cpu",
                                   dp_noise=1.8, **DP), epsilons=epsilons)
        assert sum(f.cancelled() for f in owed) >= 15  # dropped, not answered ahead of ours
        assert not {id(f) for f in owed} & {id(f) for f in epsilons.owed()}
        assert result.metrics["epsilon"] == pytest.approx(
            opacus_epsilon("prv", result.metrics), rel=1e-6)
    finally:
        epsilons.close()


def test_dp_more_noise_gives_smaller_epsilon():
    low, high = _run(dp_noise=1.0, **DP).metrics, _run(dp_noise=3.0, **DP).metrics
    assert high["noise_multiplier"] == pytest.approx(3.0)
    assert (high["sample_rate"], high["dp_steps"]) == (low["sample_rate"], low["dp_steps"])
    assert high["epsilon"] < low["epsilon"]
    assert high["epsilon"] == pytest.approx(opacus_epsilon("prv", high), rel=1e-6)


def test_dp_target_epsilon_with_rdp_accountant_and_given_delta():
    from opacus.accountants.utils import get_noise_multiplier

    target, delta = 4.0, 1e-4
    result = _run(dp_epsilon=target, dp_delta=delta, dp_accountant="rdp", **DP)
    m = result.metrics
    assert m["accountant"] == "rdp"
    assert m["delta"] == delta
    check_dp_bookkeeping(result, DP["epochs"], DP["batch_size"])
    assert m["epsilon"] == pytest.approx(opacus_epsilon("rdp", m), rel=1e-6)
    assert m["epsilon"] <= target + 0.05
    expected_sigma = get_noise_multiplier(
        target_epsilon=target, target_delta=delta, sample_rate=m["sample_rate"],
        epochs=DP["epochs"], accountant="rdp")
    assert m["noise_multiplier"] == pytest.approx(expected_sigma, rel=1e-9)


@pytest.mark.parametrize("model,clipping", [("mlp", "book-keeping"), ("cnn", "book-keeping"),
                                            ("mlp", "ghost")])
def test_dp_clipping_equals_clipping_each_example_gradient(model, clipping, monkeypatch):
    """Reference: per-example gradients from torch.func, each clipped to C, averaged."""
    import copy

    from torch.func import functional_call, grad, vmap

    from playground.training.techniques import dp as dp_technique

    if clipping == "ghost":  # Opacus' path, which the ViT takes
        monkeypatch.setattr(dp_technique, "unsupported_layers", lambda model: ["forced"])
    batch = 32
    cfg = make_config(dataset="digits", model=model, width=16, epochs=1, batch_size=batch,
                      dp_noise=1.0, device="cpu")
    ctx = TrainContext(cfg, SilentReporter(), T.build(cfg.techniques))
    dp = ctx.techniques[0]
    dp.s.noise_multiplier = 0.0  # no noise: what is left is the clipped average
    ctx.hook("on_model")
    reference = copy.deepcopy(ctx.model)
    xb, yb = ctx.X[:batch], ctx.y[:batch]
    params = {k: v.detach() for k, v in reference.named_parameters()}

    def one_loss(p, x, y):
        return nn.functional.cross_entropy(functional_call(reference, p, (x[None],)), y[None])

    per_example = vmap(grad(one_loss), in_dims=(None, 0, 0))(params, xb, yb)
    norms = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in per_example.values()))
    clip = dp.s.max_grad_norm = float(norms.median())  # some clipped, some not
    factor = (clip / (norms + 1e-6)).clamp(max=1.0)
    assert (factor < 1).any() and (factor == 1).any()

    ctx.start_optimizer(torch.optim.SGD(ctx.model.parameters(), lr=0.0))
    ctx.hook("on_optimizer")
    assert dp.clipping == clipping
    ctx.batch_idx = torch.arange(batch)
    ctx._step(xb, yb)

    expected_batch = int(ctx.n * dp.sample_rate)  # Opacus divides by the expected size
    trained = getattr(ctx.model, "_module", ctx.model)
    for (name, param), (ref_name, g) in zip(trained.named_parameters(),
                                             per_example.items(), strict=True):
        assert name == ref_name
        expected = torch.einsum("i,i...->...", factor, g) / expected_batch
        torch.testing.assert_close(param.grad, expected, rtol=1e-4, atol=1e-6)


def test_book_keeping_noise_has_opacus_scale_on_an_empty_batch():
    # An empty Poisson batch still steps: the gradient is noise alone, std σ·C / E[batch].
    from playground.training.techniques.dp_clipping import BookKeepingClipper

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 10))
    sigma, clip, expected = 1.7, 0.8, 50
    clipper = BookKeepingClipper(model, clip, sigma, expected)
    clipper.backward(torch.zeros(()), batch_size=0)
    noise = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert len(noise) == sum(p.numel() for p in model.parameters())
    assert noise.mean().item() == pytest.approx(0.0, abs=3 * sigma * clip / expected / 250)
    assert noise.std().item() == pytest.approx(sigma * clip / expected, rel=0.01)


def test_book_keeping_noise_drawn_ahead_is_the_same_seeded_sequence():
    # The next step's noise is drawn on a background thread; the draws must be exactly
    # those of drawing in place, one fresh standard normal per parameter per step.
    from playground.training.techniques.dp_clipping import BookKeepingClipper

    model = nn.Sequential(nn.Linear(50, 20), nn.ReLU(), nn.Linear(20, 3))
    ahead = BookKeepingClipper(model, 1.0, 1.0, 8, seed=7)
    ahead._ahead = True  # as with a core to spare, whatever this machine's threads are
    drawn_ahead = [ahead._noise().clone() for _ in range(4)]
    assert ahead._next_noise is not None  # the fifth is being drawn on the thread
    in_place = BookKeepingClipper(model, 1.0, 1.0, 8, seed=7)
    drawn_in_place = [in_place._draw() for _ in range(4)]
    for x, y in zip(drawn_ahead, drawn_in_place, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert len(drawn_ahead[0]) == sum(p.numel() for p in model.parameters())
    assert not torch.equal(drawn_ahead[0], drawn_ahead[1])  # each step its own draw
    other = BookKeepingClipper(model, 1.0, 1.0, 8, seed=8)
    assert not torch.equal(other._noise(), drawn_ahead[0])
    for clipper in (ahead, in_place, other):
        clipper.remove()


def test_only_networks_of_linear_and_conv_layers_skip_opacus():
    from playground.training.techniques.dp_clipping import unsupported_layers

    for model in ("mlp", "cnn"):
        assert unsupported_layers(context(model=model, dp_noise=1.0).model) == []
    vit = context(model="vit", width=8, depth=1, dp_noise=1.0).model
    assert any("LayerNorm" in name for name in unsupported_layers(vit))


def test_dp_with_distillation_keeps_per_example_hooks():
    from playground.training.capabilities import LOSS_CHANGE

    techniques = T.build({"dp": {}, "distillation": {"teacher": "x"}})
    dp = next(t for t in techniques if t.name == "dp")
    assert any(LOSS_CHANGE in t.provides for t in techniques if t is not dp)


@pytest.mark.parametrize("kind", ["prv", "rdp"])
def test_cached_accountants_say_exactly_what_opacus_accountants_say(kind):
    from opacus.accountants import create_accountant
    from opacus.accountants.analysis import rdp

    for sigma, q, steps, delta in [(1.0, 0.06, 50, 1e-5), (0.7, 0.01, 300, 1e-3),
                                   (2.0, 1 / 14, 42, 1e-3), (1.0, 0.06, 51, 1e-5)]:
        theirs = create_accountant(kind)
        theirs.history = [(sigma, q, steps)]
        assert accountant_epsilon(kind, sigma, q, steps, delta) == theirs.get_epsilon(delta)
    assert not hasattr(rdp._compute_rdp, "cache_info")  # Opacus' own function, untouched


def test_dp_returns_the_plain_model_that_made_the_predictions():
    result = _run(dp_noise=1.0, **DP)
    assert not hasattr(result.model, "_module")  # Opacus' wrapper is gone
    X = torch.from_numpy(result.dataset.X_test)
    _, _, probs = evaluate(result.model, X, torch.from_numpy(result.dataset.y_test))
    assert np.array_equal(probs.argmax(1).numpy(), result.y_pred)


# -- quantization --------------------------------------------------------------------------

def test_int8_quantization_shrinks_and_reports_consistent_predictions():
    # Width 256: torch.save adds a few KB of fixed overhead (zip records, pickled keys,
    # scales and zero points of the packed int8 layers). For a narrow MLP that overhead
    # rivals the weights themselves, so the ~4x saving only shows once weights dominate.
    result = _run(quantize="int8", width=256, epochs=1)
    q = result.metrics["quantized"]
    assert q["mode"] == "int8" and "skipped" not in q
    assert q["float_size_bytes"] == Q.serialized_bytes(result.model)
    assert q["size_bytes"] <= 0.35 * q["float_size_bytes"]

    data = result.dataset
    calibration = torch.from_numpy(data.X_train[:CALIBRATION_EXAMPLES])
    qmodel, qdevice = Q.quantize(result.model, "int8", torch.device("cpu"), calibration)
    assert qdevice.type == "cpu"
    assert not any(type(m) is nn.Linear for m in qmodel.modules())  # Linear layers swapped
    assert Q.serialized_bytes(qmodel) == q["size_bytes"]
    with torch.no_grad():
        qpred = qmodel(torch.from_numpy(data.X_test)).argmax(1).numpy()
    assert q["changed_predictions"] == int((qpred != result.y_pred).sum())
    assert q["accuracy"] == pytest.approx(float((qpred == data.y_test).mean()))


def test_static_int8_quantizes_the_convolutions_too():
    from torch.ao.nn import quantized as nnq

    result = _run(quantize="int8", model="cnn", epochs=1)
    q = result.metrics["quantized"]
    assert q["method"].startswith("static int8")
    assert q["size_bytes"] <= 0.35 * q["float_size_bytes"]
    calibration = torch.from_numpy(result.dataset.X_train[:CALIBRATION_EXAMPLES])
    qmodel, _ = Q.quantize(result.model, "int8", torch.device("cpu"), calibration)
    kinds = {type(m) for m in qmodel.modules()}
    assert not kinds & {nn.Conv2d, nn.Linear}  # every conv and linear layer is int8
    assert any(issubclass(k, nnq.Conv2d) for k in kinds)
    # Integer arithmetic only approximates the float model: most answers must agree.
    assert q["changed_predictions"] <= 0.05 * result.metrics["test_examples"]


def test_models_without_static_kernels_fall_back_to_dynamic_int8():
    vit = _run(quantize="int8", model="vit", epochs=1, width=16, depth=1).metrics["quantized"]
    assert vit["method"].startswith("dynamic int8") and "skipped" not in vit


def test_quantization_leaves_the_float_model_untouched():
    result = _run(quantize="int8", width=256, epochs=1)
    model, data = result.model, result.dataset
    # The returned model is still the float model that made result.y_pred ...
    assert all(type(m) is nn.Linear for m in model.modules() if "Linear" in type(m).__name__)
    _, _, probs = evaluate(model, torch.from_numpy(data.X_test), torch.from_numpy(data.y_test))
    assert np.array_equal(probs.argmax(1).numpy(), result.y_pred)
    # ... and quantizing a copy, in every mode, changes nothing in it.
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for mode in Q.MODES:
        if Q.supported(mode, torch.device("cpu")) is None:
            Q.quantize(model, mode, torch.device("cpu"))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) and after[k].dtype == before[k].dtype
               for k in before)


def test_half_precision_halves_the_weights():
    model = _run(quantize="int8", width=256, epochs=1).model
    half, _ = Q.quantize(model, "fp16", torch.device("cpu"))
    assert all(p.dtype == torch.float16 for p in half.parameters())
    assert Q.serialized_bytes(half) <= 0.55 * Q.serialized_bytes(model)


# -- pruning -------------------------------------------------------------------------------

def zero_share(model: nn.Module) -> float:
    weights = weight_tensors(model)
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


@pytest.mark.parametrize("fine_tune", [0, 2])
def test_pruning_reaches_the_requested_sparsity(fine_tune):
    amount, epochs = 0.6, 2
    result = _run(prune=amount, prune_fine_tune=fine_tune, epochs=epochs, width=64)
    measured = zero_share(result.model)
    # Fine-tuning trains every remaining weight; only kept masks hold the zeros at zero.
    assert measured == pytest.approx(amount, abs=0.01)
    assert result.metrics["sparsity"] == pytest.approx(measured, abs=1e-12)
    assert result.metrics["epochs_run"] == epochs + fine_tune
    assert result.metrics["pruning"]["fine_tune_epochs"] == fine_tune
    # No pruning reparametrisation left behind: plain weights, a normal state dict.
    assert not any(k.endswith(("_orig", "_mask")) for k in result.model.state_dict())


def test_pruning_zeros_are_the_same_after_fine_tuning():
    plain = _run(prune=0.6, prune_fine_tune=0, epochs=2, width=64).model
    tuned = _run(prune=0.6, prune_fine_tune=2, epochs=2, width=64).model
    # Same seed and training, so the same weights are pruned; fine-tuning moved the rest.
    for a, b in zip(weight_tensors(plain), weight_tensors(tuned), strict=True):
        assert torch.equal(a == 0, b == 0)
    assert any(not torch.equal(a, b)
               for a, b in zip(weight_tensors(plain), weight_tensors(tuned), strict=True))


def test_pruning_after_early_stopping_whatever_order_they_are_listed_in():
    config = make_config(dataset="moons", model="mlp", width=32, epochs=40, lr=0.05,
                         device="cpu", techniques={
                             "pruning": {"amount": 0.5, "fine_tune_epochs": 2},
                             "early_stopping": {"patience": 1}})
    names = [t.name for t in T.build(config.techniques)]
    assert names == [c.name for c in T.all_techniques() if c.name in names]  # hooks in their order
    result = train(config)
    m = result.metrics
    assert m["stopped_epoch"] is not None and m["stopped_epoch"] < 40
    # The best weights were restored before pruning, and all fine-tuning epochs ran.
    assert m["epochs_run"] == m["stopped_epoch"] + 2
    assert zero_share(result.model) == pytest.approx(0.5, abs=0.01)


# -- augmentation --------------------------------------------------------------------------

def test_image_augmentation_changes_batches_but_not_labels():
    ctx = context(dataset="digits", model="mlp", augment=0.8)
    aug = technique(ctx, "augmentation")
    xb, yb = ctx.X[:64], ctx.y[:64]
    original = xb.clone()
    out_x, out_y = aug.on_batch(ctx, xb, yb)
    assert out_x.shape == xb.shape and out_x.dtype == xb.dtype
    assert not torch.allclose(out_x, xb)
    changed = (out_x - xb).flatten(1).abs().amax(1) > 1e-3
    assert changed.float().mean() > 0.9  # (nearly) every image gets its own change
    assert torch.equal(out_y, yb)
    assert torch.equal(xb, original)  # the stored training data itself stays as it was
    again, _ = aug.on_batch(ctx, xb, yb)
    assert not torch.allclose(again, out_x)  # a new variation at every step


def test_tabular_augmentation_mixes_up_features_and_labels():
    ctx = context(dataset="wine", model="mlp", augment=1.0)
    aug = technique(ctx, "augmentation")
    xb, yb = ctx.X[:32], ctx.y[:32]
    original = xb.clone()
    out_x, targets = aug.on_batch(ctx, xb, yb)
    assert out_x.shape == xb.shape and not torch.allclose(out_x, xb)
    assert targets.shape == (len(yb), ctx.data.n_classes)
    assert bool((targets >= 0).all())
    assert torch.allclose(targets.sum(1), torch.ones(len(yb)))
    assert torch.equal(xb, original)


def test_tabular_augmentation_with_dp_keeps_each_row_one_person():
    # Mixup would put one person in two training examples, which ε doesn't count.
    result = _run(dataset="wine", model="mlp", augment=1.0, dp_noise=1.0, epochs=1)
    assert "mixup" in result.metrics["augmentation_note"]
    ctx = context(dataset="wine", model="mlp", augment=1.0, dp_noise=1.0)
    xb, yb = ctx.X[:32], ctx.y[:32]
    out_x, out_y = technique(ctx, "augmentation").on_batch(ctx, xb, yb)
    assert torch.equal(out_y, yb)  # hard labels: nothing blended
    assert not torch.allclose(out_x, xb)  # the feature noise is still there
    # Each output row moved off its own input row by the feature noise alone.
    assert (out_x - xb).abs().max() < 0.3 * 6  # six standard deviations of the noise


def test_zero_strength_augmentation_is_the_identity():
    ctx = context(dataset="digits", model="mlp", augment=0.0)
    xb, yb = ctx.X[:16], ctx.y[:16]
    out_x, out_y = technique(ctx, "augmentation").on_batch(ctx, xb, yb)
    assert torch.equal(out_x, xb) and torch.equal(out_y, yb)


@pytest.mark.parametrize("dataset", ["digits", "wine"])
def test_augmentation_never_touches_validation_or_test_data(dataset):
    result = _run(dataset=dataset, augment=1.0, epochs=2)
    data, fresh = result.dataset, fresh_dataset(dataset)
    for split in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        a, b = getattr(data, split), getattr(fresh, split)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), split
    # Validation and test were scored on the untransformed data: scoring the final model
    # on the fresh copy gives exactly the logged validation loss and the stored outputs.
    val_loss, _, _ = evaluate(result.model, torch.from_numpy(fresh.X_val),
                              torch.from_numpy(fresh.y_val))
    assert val_loss == pytest.approx(result.history[-1]["val_loss"], rel=1e-6)
    _, _, probs = evaluate(result.model, torch.from_numpy(fresh.X_test),
                           torch.from_numpy(fresh.y_test))
    assert np.allclose(probs.numpy(), result.probs, atol=1e-6)


def test_augmentation_is_only_wired_into_training_batches():
    # The base class promises on_batch is for training batches; evaluation has no hook.
    assert Augmentation.on_batch is not T.Technique.on_batch
    assert "on_batch" not in TrainContext.validate.__code__.co_names


# -- dropout -------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["mlp", "cnn", "vit"])
def test_dropout_rate_reaches_every_dropout(model):
    rate = 0.35
    ctx = context(dataset="digits", model=model, width=16, depth=1, dropout=rate)
    layers = [m for m in ctx.model.modules() if isinstance(m, nn.Dropout)]
    assert layers and all(m.p == rate for m in layers)
    # transformers' attention keeps its dropout as a plain rate on the module.
    rates = [m.attention_dropout for m in ctx.model.modules()
             if isinstance(getattr(m, "attention_dropout", None), float)]
    assert len(rates) == (1 if model == "vit" else 0) and all(r == rate for r in rates)
    x = ctx.X[:32]
    ctx.model.train()
    torch.manual_seed(1)
    assert not torch.allclose(ctx.model(x), ctx.model(x))  # random silencing while training
    ctx.model.eval()
    assert torch.equal(ctx.model(x), ctx.model(x))


# -- weight decay --------------------------------------------------------------------------

def test_weight_decay_is_set_on_every_param_group():
    ctx = context(dataset="digits", model="mlp", weight_decay=0.02)
    ctx.start_optimizer()  # as train()
    ctx.hook("on_optimizer")
    assert ctx.optimizer.param_groups
    assert all(g["weight_decay"] == 0.02 for g in ctx.optimizer.param_groups)


def test_stronger_weight_decay_gives_smaller_weights():
    def mean_abs(model):
        return float(np.mean([p.detach().abs().mean().item()
                              for p in model.parameters() if p.dim() > 1]))

    weak = _run(weight_decay=0.0, epochs=3, width=64)
    strong = _run(weight_decay=0.1, epochs=3, width=64)
    for result in (weak, strong):
        assert result.metrics["mean_abs_weight"] == pytest.approx(mean_abs(result.model))
    assert strong.metrics["mean_abs_weight"] < weak.metrics["mean_abs_weight"]


def test_l1_zeroes_weights_that_plain_training_and_weight_decay_leave_nonzero():
    """The proximal step lands weights on exactly zero (a loss term's gradient would only
    jitter around it); biases stay free; the reported share is the model's own."""
    def exact_zeros(model):
        weights = [p for p in model.parameters() if p.dim() > 1]
        return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)

    plain = _run(weight_decay=0.1, epochs=3, width=64)
    l1 = _run(l1=0.5, epochs=3, width=64)
    assert exact_zeros(plain.model) == 0
    assert exact_zeros(l1.model) > 0.2
    assert l1.metrics["l1"]["near_zero"] >= exact_zeros(l1.model)
    assert l1.metrics["l1"]["near_zero_before"] < 0.05
    biases = [p for p in l1.model.parameters() if p.dim() == 1]
    assert all(int((b == 0).sum()) == 0 for b in biases)


def test_l1_with_dp_keeps_opacus_epsilon():
    """L1's step reads no data, so ε is the plain DP run's (post-processing)."""
    dp = dict(epochs=1, dp_noise=1.0, width=32)
    assert _run(l1=0.5, **dp).metrics["epsilon"] == pytest.approx(_run(**dp).metrics["epsilon"])


# -- early stopping ------------------------------------------------------------------------

ES = {"dataset": "moons", "epochs": 40, "lr": 0.05, "early_stop": 2}


def check_best_weights_restored(result) -> None:
    m, history = result.metrics, result.history
    losses = [h["val_loss"] for h in history]
    assert 1 <= m["best_epoch"] <= len(history)
    assert losses[m["best_epoch"] - 1] == pytest.approx(min(losses), abs=1e-6)
    data = result.dataset
    val_loss, _, _ = evaluate(result.model, torch.from_numpy(data.X_val),
                              torch.from_numpy(data.y_val))
    assert val_loss == pytest.approx(min(losses), rel=1e-5)


def test_early_stopping_stops_and_restores_the_best_epoch():
    result = _run(**ES)
    m = result.metrics
    assert m["epochs_run"] < ES["epochs"] or m["best_epoch"] is not None
    assert m["stopped_epoch"] == m["epochs_run"] == len(result.history) < ES["epochs"]
    assert m["stopped_epoch"] - m["best_epoch"] == ES["early_stop"]
    check_best_weights_restored(result)


def test_early_stopping_with_dp_restores_the_best_weights():
    result = _run(dataset="moons", epochs=6, lr=0.1, batch_size=128, early_stop=1,
                  dp_noise=0.5)
    check_best_weights_restored(result)
    assert "epsilon" in result.metrics


# -- learning-rate schedule ----------------------------------------------------------------

def torch_cosine_lr(lr: float, total_steps: int, steps: int) -> float:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    for _ in range(steps):
        optimizer.step()
        schedule.step()
    return schedule.get_last_lr()[0]


def test_cosine_schedule_ends_near_zero():
    lr, epochs, batch_size = 0.02, 2, 64
    result = _run(schedule="cosine", lr=lr, epochs=epochs, batch_size=batch_size)
    total = epochs * math.ceil(len(result.dataset.y_train) / batch_size)
    final = result.metrics["final_lr"]
    assert final == pytest.approx(torch_cosine_lr(lr, total, total), abs=1e-12)
    assert 0 <= final < 1e-6 * lr


def test_cosine_schedule_drives_the_optimizer():
    ctx = context(dataset="digits", model="mlp", schedule="cosine", lr=0.02, epochs=2)
    ctx.start_optimizer()  # as train()
    ctx.hook("on_optimizer")
    half = ctx.total_steps // 2
    for _ in range(half):
        ctx.optimizer.step()
        ctx.hook("after_step")
    expected = 0.02 * (1 + math.cos(math.pi * half / ctx.total_steps)) / 2
    assert ctx.optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-9)
    assert ctx.optimizer.param_groups[0]["lr"] == pytest.approx(
        torch_cosine_lr(0.02, ctx.total_steps, half), rel=1e-9)


def test_pruning_fine_tune_does_not_restart_the_cosine():
    from playground.training.techniques.base import Technique
    from playground.training.techniques.lr_schedule import FINE_TUNE_SHARE

    class LearningRates(Technique):  # records the rate each step actually used
        per_step = frozenset({"after_step"})

        def on_model(self, ctx):
            self.rates = []

        def after_step(self, ctx):
            self.rates.append(ctx.optimizer.param_groups[0]["lr"])

    config = make_config(dataset="digits", model="mlp", width=16, epochs=3, lr=0.02,
                         schedule="cosine", prune=0.5, prune_fine_tune=2)
    recorder = LearningRates()
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques) + [recorder])
    ctx.setup()  # the same sequence as train()
    ctx.fit()
    main, fine = recorder.rates[:ctx.total_steps], recorder.rates[ctx.total_steps:]
    assert len(fine) == 2 * ctx.steps_per_epoch
    assert all(b <= a for a, b in zip(main, main[1:], strict=False))  # cosine only falls
    assert main[-1] < 0.01 * config.lr
    assert fine == [pytest.approx(FINE_TUNE_SHARE * config.lr)] * len(fine)


# -- validation and combinations -----------------------------------------------------------

def test_unknown_technique_is_refused():
    problems = problems_of(techniques={"telepathy": {}})
    assert any("'telepathy'" in p and "Dropout" in p for p in problems), problems


def test_unknown_setting_is_refused_by_its_name():
    problems = problems_of(techniques={"dropout": {"rate": 0.1, "ratio": 0.2}})
    assert len(problems) == 1 and problems[0].startswith("Dropout: 'ratio' is not one of"), \
        problems


def _out_of_range_cases():
    cases = []
    for cls in T.all_techniques():
        for p in cls.params:
            if p.min is not None:
                cases.append(pytest.param(cls.name, p.name, p.min - 1, id=f"{cls.name}.{p.name}<"))
            if p.max is not None:
                cases.append(pytest.param(cls.name, p.name, p.max + 1, id=f"{cls.name}.{p.name}>"))
            if p.choices is not None:
                cases.append(pytest.param(cls.name, p.name, "nonsense", id=f"{cls.name}.{p.name}"))
    return cases


@pytest.mark.parametrize(("name", "param", "value"), _out_of_range_cases())
def test_out_of_range_setting_is_refused_by_its_name(name, param, value):
    problems = problems_of(techniques={name: {param: value}})
    cls = T.technique_class(name)
    p = next(p for p in cls.params if p.name == param)
    # Named as the page names it: the technique's title and the setting's label.
    where = f"{cls.title}: {p.title().lower()}:"
    assert any(m.startswith(where) and repr(value) in m for m in problems), problems


@pytest.mark.parametrize(("flat", "value"), [
    ("dropout", 0.95), ("dropout", "lots"), ("augment", -0.1), ("quantize", "int4"),
    ("prune", 0.99), ("weight_decay", 0.5), ("early_stop", 0), ("schedule", "linear"),
    ("dp_noise", 0.0), ("dp_accountant", "gdp"),
])
def test_flat_shorthands_report_the_technique_setting(flat, value):
    problems = problems_of(**{flat: value})
    # The words lead back to the setting a link or the CLI gave, and hold no code name.
    assert len(problems) == 1 and problem_setting(problems[0]) == flat, problems
    assert "_" not in problems[0].split(":")[0] and "." not in problems[0].split(":")[1]


def test_fine_tuning_a_pruned_dp_model_is_refused():
    problems = problems_of(dp_noise=1.0, prune=0.5, prune_fine_tune=2)
    assert len(problems) == 1, problems
    assert problems[0].startswith("Pruning: extra training after pruning"), problems
    make_config(dp_noise=1.0, prune=0.5, prune_fine_tune=0)  # pruning alone is fine


COMBINABLE = {
    "dropout": ({"dropout": 0.2}, ()),
    "augment": ({"augment": 0.5}, ()),
    "weight_decay": ({"weight_decay": 1e-3}, ("mean_abs_weight",)),
    "early_stop": ({"early_stop": 1}, ("best_epoch", "stopped_epoch")),
    "schedule": ({"schedule": "cosine"}, ("final_lr",)),
    "prune": ({"prune": 0.5, "prune_fine_tune": 1}, ("sparsity", "pruning")),
    "quantize": ({"quantize": "int8"}, ("quantized",)),
    "dp": ({"dp_noise": 1.0}, ("epsilon", "delta", "noise_multiplier", "dp_steps")),
}
BASE_KEYS = ("accuracy", "f1_macro", "confusion_matrix", "val_accuracy", "params",
             "latency_ms", "epochs_run", "size_bytes")


PAIRS = list(itertools.combinations(COMBINABLE, 2))


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_every_pair_trains_to_finished_metrics(a, b):
    values = {**COMBINABLE[a][0], **COMBINABLE[b][0]}
    if "dp_noise" in values and "prune" in values:
        values["prune_fine_tune"] = 0  # the legal form of this pair (see above)
    result = train(make_config(dataset="digits", model="mlp", width=32, epochs=1,
                               batch_size=256, device="cpu", **values))
    m = result.metrics
    for key in BASE_KEYS + COMBINABLE[a][1] + COMBINABLE[b][1]:
        assert key in m, key
    assert 0 <= m["accuracy"] <= 1 and len(result.y_pred) == m["test_examples"]
    assert not hasattr(result.model, "_module")
    if "sparsity" in m:
        assert zero_share(result.model) == pytest.approx(0.5, abs=0.01)
    if "quantized" in m:
        assert m["quantized"]["size_bytes"] < m["quantized"]["float_size_bytes"]
    if "epsilon" in m:
        assert math.isfinite(m["epsilon"]) and m["epsilon"] > 0


# -- mixed precision -----------------------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_mixed_precision_is_refused_without_a_gpu_with_the_reason():
    with pytest.raises(ConfigError) as exc:
        make_config(dataset="digits", model="mlp", mixed_precision="bf16")
    assert any("needs a GPU" in p and "switch it off" in p for p in exc.value.problems)


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_the_loop_runs_forward_passes_in_the_mixed_precision_dtype(dtype):
    """The loop's autocast and loss scaling, exercised on this machine's device (the
    technique itself only allows CUDA, where the same code path runs)."""
    from playground.training.techniques.mixed_precision import MixedPrecision

    config = make_config(dataset="digits", model="mlp", width=32, epochs=2, batch_size=128)
    technique = MixedPrecision(dtype=dtype)
    ctx = TrainContext(config, SilentReporter(), [technique])
    ctx.setup()
    seen = []
    ctx.model[1].register_forward_hook(  # training steps only; evaluation stays fp32
        lambda m, i, out: seen.append(out.dtype) if m.training else None)
    before = [p.detach().clone() for p in ctx.model.parameters()]
    ctx.run_epochs(2)
    expected = torch.bfloat16 if dtype == "bf16" else torch.float16
    assert seen and all(d == expected for d in seen)  # the layers computed in 16 bits
    assert all(p.dtype == torch.float32 for p in ctx.model.parameters())  # weights stay fp32
    assert any(not torch.equal(a, b) for a, b in zip(before, ctx.model.parameters(),
                                                     strict=True))
    assert all(math.isfinite(h["train_loss"]) for h in ctx.history)
    assert (ctx.scaler is not None) == (dtype == "fp16")
    metrics: dict = {}
    technique.finalize(ctx, metrics)
    assert metrics["mixed_precision"]["dtype"] == dtype
