"""DP-SGD with Opacus: clip each example's gradient, add Gaussian noise, count the budget.

"Wrap, don't fork": Opacus' PrivacyEngine.make_private wraps our model, optimizer and an
index loader (Poisson sampling); the loop itself is unchanged. ε comes from Opacus' own
accountant (PRV by default, RDP as a fallback), never from our arithmetic.
"""
from __future__ import annotations

import warnings

import torch

from playground.techniques import Param, Technique, register


def epsilon_meaning(epsilon: float) -> str:
    """A plain-language reading of ε."""
    if epsilon <= 1:
        return "strong privacy: the model reveals almost nothing about any one person"
    if epsilon <= 3:
        return "good privacy: any one person's data changes what the model does only a little"
    if epsilon <= 10:
        return ("moderate privacy: the usual range in practice; a single person's influence "
                "is bounded, but not tiny")
    return "weak privacy: the guarantee is loose; an attacker could learn a fair amount"


class _IndexBatches:
    """The Poisson-sampled batches of Opacus' DPDataLoader as index tensors, straight from
    its batch sampler: our 'dataset' is just the indices 0..n-1, so the loader's fetch and
    collate of each example one by one would only rebuild the same tensor, slowly."""

    def __init__(self, loader):
        self.sampler = loader.batch_sampler
        self.steps = len(loader)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for indices in self.sampler:
            yield torch.tensor(indices, dtype=torch.long)


def _shapes_loss(technique) -> bool:
    from playground.techniques import Technique

    return type(technique).loss is not Technique.loss


def _memoize_rdp() -> None:
    """Opacus' accountants recompute the per-step Rényi divergence (a pure function of the
    sample rate, noise and order) on every ε query, ~0.1-0.2 s each; asking once per epoch
    made that the biggest cost of a DP epoch. Caching it returns identical numbers."""
    from functools import lru_cache

    from opacus.accountants.analysis import rdp

    if not hasattr(rdp._compute_rdp, "cache_info"):
        rdp._compute_rdp = lru_cache(maxsize=4096)(rdp._compute_rdp)


@register
class DPNoise(Technique):
    name = "dp"
    title = "Privacy noise (DP-SGD)"
    description = ("Trains with differential privacy: each example's influence is capped "
                   "(clipping) and random noise hides what is left. The privacy budget ε says "
                   "how much the model can reveal about any one person: smaller is more "
                   "private. Privacy usually costs some accuracy and time.")
    params = (
        Param("noise_multiplier", 1.0, "Noise relative to the clipping norm (more noise, "
              "smaller ε).", 0.1, 20.0, flag="--dp-noise"),
        Param("max_grad_norm", 1.0, "Cap on each example's gradient size.", 0.01, 100.0,
              flag="--dp-clip"),
        Param("target_epsilon", 0.0, "If above 0, choose the noise to end at this ε instead.",
              0.0, 100.0, flag="--dp-epsilon"),
        Param("delta", 0.0, "Chance the guarantee fails; 0 means 1 / training examples.",
              0.0, 0.1, flag="--dp-delta"),
        Param("accountant", "prv", "How ε is counted (Opacus accountant).",
              choices=("prv", "rdp"), flag="--dp-accountant"),
    )
    measures = ("epsilon", "delta", "layers changed for DP")

    def on_model(self, ctx) -> None:
        from opacus.validators import ModuleValidator

        before = {n: type(m).__name__ for n, m in ctx.model.named_modules()}
        if not ModuleValidator.is_valid(ctx.model):
            ctx.model = ModuleValidator.fix(ctx.model).to(ctx.device)
        after = {n: type(m).__name__ for n, m in ctx.model.named_modules()}
        self.changes = [f"{n}: {before[n]} → {after[n]}" for n in after
                        if n in before and before[n] != after[n]]

    def on_optimizer(self, ctx) -> None:
        from opacus import PrivacyEngine

        _memoize_rdp()

        self.delta_used = self.delta or 1.0 / ctx.n
        indices = torch.utils.data.TensorDataset(torch.arange(ctx.n))
        loader = torch.utils.data.DataLoader(indices, batch_size=ctx.bs)
        # Opacus' hooks trip torch's "no inputs require gradients" notice on every step;
        # it is expected here (inputs are data, not parameters).
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        # Ghost clipping gets each example's gradient norm without materialising the
        # per-example gradients (two cheap backward passes instead of one costly one);
        # it needs the loss per example, so a technique that reshapes the loss itself
        # (distillation) keeps Opacus' classic per-example hooks.
        others_shape_loss = any(_shapes_loss(t) for t in ctx.techniques if t is not self)
        self.clipping = "hooks" if others_shape_loss else "ghost"
        common = dict(module=ctx.model, optimizer=ctx.optimizer, data_loader=loader,
                      max_grad_norm=self.max_grad_norm, grad_sample_mode=self.clipping)
        if self.clipping == "ghost":
            common["criterion"] = torch.nn.CrossEntropyLoss()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # secure-RNG advice for research use
            self.engine = PrivacyEngine(accountant=self.accountant)
            if self.target_epsilon > 0:
                made = self.engine.make_private_with_epsilon(
                    **common, target_epsilon=self.target_epsilon,
                    target_delta=self.delta_used, epochs=ctx.config.epochs)
            else:
                made = self.engine.make_private(**common, noise_multiplier=self.noise_multiplier)
        model, optimizer, loader = made[0], made[1], made[-1]
        self.criterion = made[2] if self.clipping == "ghost" else None
        self.sigma = optimizer.noise_multiplier
        self.sample_rate = 1 / len(loader)
        ctx.model, ctx.optimizer, ctx.loader = model, optimizer, _IndexBatches(loader)
        self._plan_epsilons(ctx.config.epochs, len(loader))

    def _plan_epsilons(self, epochs: int, steps_per_epoch: int) -> None:
        """ε after each planned epoch depends only on (noise, sample rate, steps, δ), all
        known now; one accountant query costs ~10-25 ms, as much as a small model's whole
        epoch, so a background thread works them out while the model trains."""
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dp-epsilon")
        self._planned = {
            k * steps_per_epoch: self._pool.submit(self._epsilon_after, k * steps_per_epoch)
            for k in range(1, epochs + 1)}

    def _epsilon_after(self, steps: int) -> float:
        accountant = type(self.engine.accountant)()  # a fresh one of the same kind
        accountant.history = [(self.sigma, self.sample_rate, steps)]
        return float(accountant.get_epsilon(self.delta_used))

    def loss(self, ctx, logits, xb, yb, loss):
        if self.criterion is None:
            return loss
        # Per-example losses wrapped so that backward() clips each example (ghost clipping).
        return self.criterion(logits, yb)

    def epsilon(self) -> float:
        return float(self.engine.get_epsilon(self.delta_used))

    def after_epoch(self, ctx, epoch, values) -> None:
        history = self.engine.accountant.history
        planned = self._planned.get(ctx.step)
        if planned is not None and history == [(self.sigma, self.sample_rate, ctx.step)]:
            values["epsilon"] = planned.result()  # what the run's own accountant says
        else:
            values["epsilon"] = self.epsilon()

    def on_train_end(self, ctx) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)  # early stopping skips some
        # Later stages (test scoring, quantization, saving) want the plain module back.
        ctx.model = ctx.model._module if hasattr(ctx.model, "_module") else ctx.model

    def finalize(self, ctx, metrics) -> None:
        eps = self.epsilon()
        metrics.update({
            "epsilon": eps, "delta": self.delta_used, "noise_multiplier": self.sigma,
            "sample_rate": self.sample_rate, "dp_steps": ctx.step,
            "accountant": self.accountant, "epsilon_meaning": epsilon_meaning(eps),
            "dp_layer_changes": self.changes, "dp_clipping": self.clipping,
        })
