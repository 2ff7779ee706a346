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

        self.delta_used = self.delta or 1.0 / ctx.n
        indices = torch.utils.data.TensorDataset(torch.arange(ctx.n))
        loader = torch.utils.data.DataLoader(indices, batch_size=ctx.bs)
        # Opacus' hooks trip torch's "no inputs require gradients" notice on every step;
        # it is expected here (inputs are data, not parameters).
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # secure-RNG advice for research use
            self.engine = PrivacyEngine(accountant=self.accountant)
            if self.target_epsilon > 0:
                model, optimizer, loader = self.engine.make_private_with_epsilon(
                    module=ctx.model, optimizer=ctx.optimizer, data_loader=loader,
                    target_epsilon=self.target_epsilon, target_delta=self.delta_used,
                    epochs=ctx.config.epochs, max_grad_norm=self.max_grad_norm)
            else:
                model, optimizer, loader = self.engine.make_private(
                    module=ctx.model, optimizer=ctx.optimizer, data_loader=loader,
                    noise_multiplier=self.noise_multiplier, max_grad_norm=self.max_grad_norm)
        self.sigma = optimizer.noise_multiplier
        self.sample_rate = 1 / len(loader)
        ctx.model, ctx.optimizer, ctx.loader = model, optimizer, loader

    def epsilon(self) -> float:
        return float(self.engine.get_epsilon(self.delta_used))

    def after_epoch(self, ctx, epoch, values) -> None:
        values["epsilon"] = self.epsilon()

    def on_train_end(self, ctx) -> None:
        # Later stages (test scoring, quantization, saving) want the plain module back.
        ctx.model = ctx.model._module if hasattr(ctx.model, "_module") else ctx.model

    def finalize(self, ctx, metrics) -> None:
        eps = self.epsilon()
        metrics.update({
            "epsilon": eps, "delta": self.delta_used, "noise_multiplier": self.sigma,
            "sample_rate": self.sample_rate, "dp_steps": ctx.step,
            "accountant": self.accountant, "epsilon_meaning": epsilon_meaning(eps),
            "dp_layer_changes": self.changes,
        })
