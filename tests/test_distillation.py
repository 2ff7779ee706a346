"""Knowledge distillation: the loss really uses the teacher's softened outputs."""
from __future__ import annotations

import os

import pytest
import torch
from torch.nn import functional as F

from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training import techniques as T
from playground.training.config import make_config
from playground.training.loop import SilentReporter, TrainContext
from playground.training.techniques.distillation import soft_target_loss

DATA = dict(dataset="digits", seed=1)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A finished teacher run in its own store."""
    store = Store(tmp_path_factory.mktemp("home"))
    run_id = store.enqueue(make_config(**DATA, model="mlp", width=64, epochs=2))
    execute(store, store.claim(os.getpid()))
    assert store.get(run_id).status == "finished"
    return store, run_id


def _context(store, **values):
    config = make_config(**DATA, model="mlp", width=16, depth=1, epochs=1, **values)
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques))
    ctx.store = store
    ctx.hook("on_model")
    return ctx


def test_soft_target_loss_is_hintons_t_squared_kl():
    torch.manual_seed(0)
    student = torch.randn(16, 10, requires_grad=True)
    teacher = torch.randn(16, 10) * 3
    t = 4.0
    p_teacher = F.softmax(teacher / t, dim=1)
    kl = (p_teacher * (p_teacher.log() - F.log_softmax(student / t, dim=1))).sum(1).mean()
    loss = soft_target_loss(student, teacher, t)
    assert loss.item() == pytest.approx((t * t * kl).item(), rel=1e-5)
    # Hinton et al.: d loss / d student logit = T (softmax(s/T) - softmax(t/T)) / batch
    loss.backward()
    expected = t * (F.softmax(student.detach() / t, dim=1) - p_teacher) / len(student)
    torch.testing.assert_close(student.grad, expected, rtol=1e-4, atol=1e-6)


def test_the_loss_blends_the_teachers_soft_outputs_for_this_very_batch(teacher):
    store, run_id = teacher
    ctx = _context(store, distill_from=run_id, distill_temperature=3.0, distill_weight=0.6)
    distill = ctx.techniques[0]
    from playground.training.artifacts import load_run

    teacher_model = load_run(store, run_id).model
    idx = torch.tensor([5, 17, 3, 99, 250])
    ctx.batch_idx = idx
    xb, yb = ctx.X[idx], ctx.y[idx]
    logits = ctx.model(xb)
    hard = F.cross_entropy(logits, yb)
    with torch.no_grad():
        teacher_logits = teacher_model(xb)
    expected = 0.6 * soft_target_loss(logits, teacher_logits, 3.0) + 0.4 * hard
    got = distill.loss(ctx, logits, xb, yb, hard)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    # Another batch's teacher outputs give another loss: the pairing matters.
    ctx.batch_idx = idx.flip(0)
    assert distill.loss(ctx, logits, xb, yb, hard).item() != pytest.approx(got.item(), rel=1e-3)


def test_at_temperature_one_the_step_loss_and_gradient_are_hintons_blend(teacher):
    # At T = 1 the two halves merge into one cross-entropy against soft targets; what the
    # loop computes from them must be the same loss, with the same gradient.
    store, run_id = teacher
    ctx = _context(store, distill_from=run_id, distill_weight=0.7)
    distill = ctx.techniques[0]
    assert distill.s.temperature == 1.0 and distill.fused
    from playground.training.artifacts import load_run

    teacher_model = load_run(store, run_id).model
    idx = torch.tensor([8, 1, 40, 77, 300, 2])
    ctx.batch_idx = idx
    xb, yb = ctx.X[idx], ctx.y[idx]
    logits = ctx.model(xb)
    with torch.no_grad():
        teacher_logits = teacher_model(xb)
    expected = (0.7 * soft_target_loss(logits, teacher_logits, 1.0)
                + 0.3 * F.cross_entropy(logits, yb))
    xb2, targets = distill.on_batch(ctx, xb, yb)
    assert torch.equal(xb2, xb) and targets.shape == (len(idx), 10)
    got = distill.loss(ctx, logits, xb2, targets, F.cross_entropy(logits, targets))
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    want = torch.autograd.grad(expected, logits, retain_graph=True)[0]
    torch.testing.assert_close(torch.autograd.grad(got, logits)[0], want, rtol=1e-4, atol=1e-7)


def test_with_augmentation_the_teacher_sees_the_augmented_batch(teacher):
    store, run_id = teacher
    ctx = _context(store, distill_from=run_id, augment=0.8)
    distill = next(t for t in ctx.techniques if t.name == "distillation")
    augment = next(t for t in ctx.techniques if t.name == "augmentation")
    idx = torch.arange(32)
    ctx.batch_idx = idx
    xb, yb = augment.on_batch(ctx, ctx.X[idx], ctx.y[idx])
    assert not torch.equal(xb, ctx.X[idx])
    logits = ctx.model(xb)
    with torch.no_grad():
        expected = soft_target_loss(logits, distill.live_teacher(xb), distill.s.temperature)
    hard = F.cross_entropy(logits, yb)
    got = distill.loss(ctx, logits, xb, yb, hard)
    blended = distill.s.weight * expected + (1 - distill.s.weight) * hard
    assert got.item() == pytest.approx(blended.item(), rel=1e-5)


def test_a_teacher_trained_on_other_data_is_refused_with_the_reason(teacher):
    store, run_id = teacher
    config = make_config(dataset="digits", seed=2, model="mlp", distill_from=run_id)
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques))
    ctx.store = store
    with pytest.raises(ValueError, match="same dataset, seed and noise"):
        ctx.hook("on_model")
