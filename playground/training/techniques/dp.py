"""DP-SGD with Opacus: clip each example's gradient, add Gaussian noise, count the budget.

Networks of Linear and Conv2d layers (the MLP, the CNN) are clipped by our book-keeping
clipper (training/techniques/dp_clipping.py), several times faster than Opacus' hooks on these small
models; anything else (the ViT) goes through Opacus' PrivacyEngine.make_private. Either way
the Poisson batches come from Opacus' sampler and ε from Opacus' own accountant (PRV by
default, RDP as a fallback), never from our arithmetic: the run asks the EpsilonService it
was given (training/privacy.py), which remembers answers per process and works them out
ahead in a helper process it owns.
"""
from __future__ import annotations

import warnings

import torch

from playground.common.content import Lesson, Section, Term, Tile
from playground.common.metric_registry import LOWER, Metric
from playground.data.views import run_data
from playground.training.capabilities import (
    LEARNS_FROM_RUN,
    LOSS_CHANGE,
    PER_EXAMPLE_GRADIENTS,
    PRIVACY_GUARANTEE,
)
from playground.training.privacy import HELPER_PATIENCE_S, EpsilonService, make_accountant
from playground.training.techniques.base import (
    Param,
    PlainChoice,
    Technique,
    register,
    titles,
)
from playground.training.techniques.dp_clipping import BookKeepingClipper, unsupported_layers

# δ is the chance the ε promise fails. A promise that fails with chance δ for each person
# could, at worst, give away about n·δ of the n people whole, so δ must sit well below 1/n:
# we keep n·δ at most 0.1, and never looser than the 1e-5 that published private training
# commonly uses. Nobody's slider: it comes from the data; a lesson may only lower it.
DELTA_CEILING = 1e-5
DELTA_SHARE = 0.1


def automatic_delta(n: int) -> float:
    """The δ a run on `n` training examples gets: min(1e-5, 0.1 / n)."""
    return min(DELTA_CEILING, DELTA_SHARE / max(1, n))


def delta_in_words(delta: float, n: int) -> str:
    """δ as a sentence a newcomer can read."""
    return (f"The promise may fail with a chance of at most 1 in {round(1 / delta):,} "
            f"(δ = {delta:.0e}), set from the {n:,} training examples so that even across all "
            "of them a failure stays unlikely.")


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


# What a DP run reports; other modules read them through these handles, never by key.
EPSILON = Metric("epsilon", "Privacy budget ε", better=LOWER, fmt=".2f",
                 help="Smaller ε is more private; runs without privacy noise have no ε and "
                      "are left out.", pareto="cost", leaderboard=True, short="ε", limit=3.0)
DELTA = Metric("delta", "δ (chance the privacy guarantee fails)", better=LOWER, fmt=".1e",
               table=True)


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


def _quiet_backward(loss) -> None:
    """loss.backward() under Opacus' hooks, which trip torch's "no inputs require gradients"
    notice on every step; it is expected here (inputs are data, not parameters), so it is
    silenced around this call alone."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        loss.backward()


@register
class DPNoise(Technique):
    name = "dp"
    title = "Privacy noise (DP-SGD)"
    description = ("Trains with differential privacy: each example's influence is capped "
                   "(clipping) and random noise hides what is left. The privacy budget ε says "
                   "how much the model can reveal about any one person: smaller is more "
                   "private. Privacy usually costs some accuracy and time.")
    order = 30  # when its hooks run
    short_title = "privacy noise"
    harder_batches = True
    per_step = frozenset({"loss"})  # ghost clipping's per-example loss (Opacus' path)
    provides = (PRIVACY_GUARANTEE, PER_EXAMPLE_GRADIENTS)
    metrics = (EPSILON, DELTA)
    params = (
        Param("noise_multiplier", 1.0, "Noise relative to the clipping norm (more noise, "
              "smaller ε).", 0.1, 20.0, flag="--dp-noise", term="noise_multiplier",
              sweep="0, 0.5, 1, 2", label="Noise (relative to the cap)"),
        Param("max_grad_norm", 1.0, "Cap on how far any one example may move the model in "
              "a step; the noise is scaled to it.", 0.01, 100.0, flag="--dp-clip",
              term="clipping", sweep="0.1, 1, 10", label="Cap per example (clipping)"),
        Param("target_epsilon", 0.0, "The privacy budget ε to end at (smaller is more "
              "private: 1 strong, 3 good, 10 moderate); the noise is chosen to reach it. "
              "0: use the noise setting above instead.", 0.0, 100.0, flag="--dp-epsilon",
              term="epsilon", sweep="1, 3, 10", label="Target privacy budget ε (0: off)"),
        Param("delta", 0.0, "set from the data size, well below one in the number of "
              "training examples (at most 1 in 100,000), so nobody can loosen the promise to "
              "look more private; a lesson or the command line may set a lower one (0: from "
              "the data).", 0.0, 0.1, flag="--dp-delta",
              term="delta", label="Chance the promise fails (δ)", participant_sets=False),
        Param("accountant", "prv", "How ε is counted: the tighter count (PRV) gives a "
              "smaller, still safe ε; the standard one (RDP) is the older, looser bound.",
              choices=("prv", "rdp"), flag="--dp-accountant", term="accountant",
              label="How ε is counted",
              words=(("prv", "tighter (PRV)"), ("rdp", "standard (RDP)"))),
    )
    plain = PlainChoice(
        "Protect people's privacy", "How strong?",
        (("a little", {"target_epsilon": 8.0}), ("medium", {"target_epsilon": 3.0}),
         ("strong", {"target_epsilon": 1.0})),
        cost="Stronger privacy usually costs accuracy and some training time.",
        default=1, rank=10)

    def check(self, config) -> list[str]:
        delta = (config.techniques.get(self.name) or {}).get("delta", 0.0)
        if not delta:
            return []
        n = len(run_data(config).y_train)  # the data is cached per process
        if delta >= 1 / n:
            return [f"{self.title}: the chance the promise fails (δ = {delta:g}) must be well "
                    f"below 1 in {n:,}, the number of training examples (at most "
                    f"{automatic_delta(n):.0e}); leave it at 0 to set it from the data"]
        return []

    def on_model(self, ctx) -> None:
        from opacus.validators import ModuleValidator

        before = {n: type(m).__name__ for n, m in ctx.model.named_modules()}
        if not ModuleValidator.is_valid(ctx.model):
            ctx.replace("model", ModuleValidator.fix(ctx.model).to(ctx.device), by=self)
        after = {n: type(m).__name__ for n, m in ctx.model.named_modules()}
        self.changes = [f"{n}: {before[n]} → {after[n]}" for n in after
                        if n in before and before[n] != after[n]]

    def on_optimizer(self, ctx) -> None:
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.data_loader import DPDataLoader

        # The ε service train() was given; a context built without one (tests) gets its own,
        # closed when training ends.
        self.own_epsilons = ctx.epsilons is None
        self.epsilons = ctx.epsilons or EpsilonService()
        self.criterion = None
        self.delta_used = self.s.delta or automatic_delta(ctx.n)
        indices = torch.utils.data.TensorDataset(torch.arange(ctx.n))
        plain_loader = torch.utils.data.DataLoader(indices, batch_size=ctx.bs)
        self.sample_rate = 1 / len(plain_loader)  # as Opacus' DPDataLoader sets it
        self.sigma = self.s.noise_multiplier
        if self.s.target_epsilon > 0:  # what make_private_with_epsilon does
            self.sigma = get_noise_multiplier(
                target_epsilon=self.s.target_epsilon, target_delta=self.delta_used,
                sample_rate=self.sample_rate, epochs=ctx.config.epochs,
                accountant=self.s.accountant)
        if unsupported_layers(ctx.model):
            self._opacus(ctx, plain_loader)
        else:
            self._book_keeping(ctx, DPDataLoader.from_data_loader(plain_loader))
        self._plan_epsilons(ctx.config.epochs, len(ctx.loader))

    def _book_keeping(self, ctx, loader) -> None:
        """Our own clipping for Linear/Conv2d networks; Opacus' sampler and accountant."""
        self.clipping = "book-keeping"
        self.counter = make_accountant(self.s.accountant)
        self.clipper = BookKeepingClipper(
            ctx.model, self.s.max_grad_norm, self.sigma,
            # As Opacus' DPOptimizer; at least 1, where batch size 1 would round it to 0.
            expected_batch_size=max(1, int(ctx.n * self.sample_rate)), seed=ctx.config.seed)

        def backward(loss):
            self.clipper.backward(loss, len(ctx.batch_idx))
            self.counter.step(noise_multiplier=self.sigma, sample_rate=self.sample_rate)

        ctx.replace("backward", backward, by=self)
        ctx.replace("loader", _IndexBatches(loader), by=self)

    def _opacus(self, ctx, loader) -> None:
        """Layers our clipper doesn't know (the ViT's attention and norms): Opacus wraps
        the model, optimizer and loader."""
        from opacus import PrivacyEngine

        # Ghost clipping gets each example's gradient norm without materialising the
        # per-example gradients (two cheap backward passes instead of one costly one);
        # it needs the loss per example, so a technique that reshapes the loss itself
        # (distillation) keeps Opacus' classic per-example hooks.
        self.clipping = "hooks" if ctx.provides(LOSS_CHANGE, besides=self) else "ghost"
        common = dict(module=ctx.model, optimizer=ctx.optimizer, data_loader=loader,
                      max_grad_norm=self.s.max_grad_norm, grad_sample_mode=self.clipping,
                      noise_multiplier=self.sigma)
        if self.clipping == "ghost":
            common["criterion"] = torch.nn.CrossEntropyLoss()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # secure-RNG advice for research use
            engine = PrivacyEngine(accountant=self.s.accountant)
            made = engine.make_private(**common)
        model, optimizer, loader = made[0], made[1], made[-1]
        self.criterion = made[2] if self.clipping == "ghost" else None
        self.counter = engine.accountant
        # What Opacus' accountant records: 1 / its loader's length, which float rounding
        # can make one batch shorter than the plain loader's.
        self.sample_rate = 1 / len(loader)
        ctx.replace("model", model, by=self)
        ctx.replace("optimizer", optimizer, by=self)
        ctx.replace("loader", _IndexBatches(loader), by=self)
        ctx.replace("backward", _quiet_backward, by=self)

    def _plan_epsilons(self, epochs: int, steps_per_epoch: int) -> None:
        """ε after each planned epoch depends only on (noise, sample rate, steps, δ), all
        known now, so a helper process works them out while the model trains."""
        self._planned, self._waiting = {}, []
        try:
            for k in range(1, epochs + 1):
                self._planned[k * steps_per_epoch] = self.epsilons.plan(*self._key(
                    k * steps_per_epoch))
        except Exception:  # no helper process here: each epoch asks the accountant itself
            self._planned = {}
        # A cancelled or failed run never collected its answers: the service withdraws
        # them, so they don't hold up this run's.
        self.epsilons.new_run(list(self._planned.values()))

    def _key(self, steps: int) -> tuple:
        return (self.s.accountant, self.sigma, self.sample_rate, steps, self.delta_used)

    def _epsilon_after(self, steps: int) -> float:
        return self.epsilons.epsilon(*self._key(steps))

    def loss(self, ctx, logits, xb, yb, loss):
        if self.criterion is None:
            return loss
        # Per-example losses wrapped so that backward() clips each example (ghost clipping).
        return self.criterion(logits, yb)

    def epsilon(self) -> float:
        history = self.counter.history
        if len(history) == 1 and history[0][:2] == (self.sigma, self.sample_rate):
            return self._epsilon_after(history[0][2])
        return float(self.counter.get_epsilon(self.delta_used))

    def after_epoch(self, ctx, epoch, values) -> None:
        history = self.counter.history
        planned = self._planned.get(ctx.step)
        if planned is None or history != [(self.sigma, self.sample_rate, ctx.step)]:
            values["epsilon"] = self.epsilon()
            return
        # Training does not wait for the helper: an epoch whose ε is not worked out yet
        # is reported without it, and again with it once the answer is in.
        self._waiting.append((epoch, ctx.step, values, planned))
        self._settle(ctx, wait=False)

    def _settle(self, ctx, wait: bool) -> None:
        """Put the helper's answers into their epochs' values; re-report earlier epochs."""
        still = []
        for epoch, steps, values, planned in self._waiting:
            if not (wait or planned.done()):
                still.append((epoch, steps, values, planned))
                continue
            try:  # what the run's own accountant says
                values["epsilon"] = planned.result(timeout=HELPER_PATIENCE_S)
                self.epsilons.remember(self._key(steps), values["epsilon"])  # no race
            except Exception:  # the helper died or hangs: ask here, and fork a new one
                self.epsilons.retire()
                values["epsilon"] = self._epsilon_after(steps)
            if epoch != ctx.epoch or wait:  # already reported without ε
                ctx.reporter.epoch(epoch, values, min(1.0, ctx.step / ctx.total_steps))
        self._waiting = still

    def on_train_end(self, ctx) -> None:
        self._settle(ctx, wait=True)
        for future in self._planned.values():  # early stopping skips some epochs
            future.cancel()
        if self.own_epsilons:
            self.epsilons.close()
        if self.clipping == "book-keeping":
            self.clipper.remove()
        ctx.replace("backward", None, by=self)
        # Later stages (test scoring, quantization, saving, the attacks) want the plain
        # module back, without Opacus' per-example hooks: left on (its "hooks" mode, when
        # another technique shapes the loss), the robustness audit's backward pass trips them.
        if hasattr(ctx.model, "remove_hooks"):
            ctx.model.remove_hooks()
        if hasattr(ctx.model, "_module"):
            ctx.replace("model", ctx.model._module, by=self)

    def privacy_promise(self, metrics):
        return EPSILON.value(metrics), DELTA.value(metrics)

    def finalize(self, ctx, metrics) -> None:
        eps = self.epsilon()
        metrics.update({
            "epsilon": eps, "delta": self.delta_used, "noise_multiplier": self.sigma,
            "sample_rate": self.sample_rate, "dp_steps": ctx.step,
            "accountant": self.s.accountant, "epsilon_meaning": epsilon_meaning(eps),
            "dp_layer_changes": self.changes, "dp_clipping": self.clipping,
            "dp_examples": ctx.n,
        })
        learners = [type(t) for t in ctx.provides(LEARNS_FROM_RUN)]
        if learners:  # the data of the run it learned from is another matter
            metrics["dp_note"] = (
                f"ε covers this run's own training data only. With {titles(learners)} it "
                "also learned from another run, and the data that run saw is not protected "
                "by this ε.")

    terms = (
        Term("differential_privacy", "Differential privacy (DP-SGD)",
             "Training so that the model reveals almost nothing about any one person in the "
             "data: each example's influence is capped and random noise hides the rest.",
             "DP-SGD clips every example's gradient to a maximum size and adds Gaussian noise "
             "to each step. Opacus does the work here and counts the privacy spent. Privacy "
             "usually costs some accuracy and time."),
        Term("epsilon", "ε (epsilon, privacy budget)",
             "How much the model may reveal about any one person: smaller is more private.",
             "Formally, whether or not one person's data was used changes the chance of any "
             "outcome by at most a factor of e^ε (plus δ). Below 1 is strong, 1–10 is the "
             "usual range in practice, above 10 is loose. It grows with every epoch trained."),
        Term("delta", "δ (delta)",
             "The small chance that the ε guarantee does not hold; it should be well below "
             "one divided by the number of people in the data."),
        Term("clipping", "Clipping (max gradient norm)",
             "The cap on how much any single example may move the model in one step; the "
             "noise is scaled to it."),
        Term("noise_multiplier", "Noise multiplier",
             "How much random noise DP-SGD adds, relative to the clipping cap: more noise, "
             "smaller ε, usually lower accuracy."),
        Term("accountant", "Privacy accountant",
             "The bookkeeping that turns noise, batch size and steps into ε: the tighter "
             "count (PRV) or the standard, looser one (RDP), both from Opacus."),
    )
    lesson = Lesson(
        "Trains with differential privacy: each example's influence is capped and random "
        "noise hides what is left, so the model reveals almost nothing about any one person.",
        "A mathematical privacy guarantee, the budget ε (smaller is more private), against "
        "accuracy and training time: the stronger the privacy, the higher the price.",
        "A hospital, bank or consumer app learning from personal data, which must show that "
        "no individual's records can be pulled back out of the model.",
        {"dataset": "breast_cancer", "model": "mlp", "epochs": 10, "dp_noise": 1.0,
         "dp_clip": 1.0},
        "Train the same setup without privacy noise: the run card's story then says what "
        "the privacy cost in accuracy.")

    together = {LEARNS_FROM_RUN: "ε covers this run's own training data only: the data of "
                                 "the run it learns from is not protected by it."}

    @classmethod
    def bought(cls, metrics):
        if "epsilon" not in metrics:
            return None
        return (f"a privacy budget of ε = {metrics['epsilon']:.2f} (δ = "
                f"{metrics['delta']:.1g}), meaning "
                f"{metrics.get('epsilon_meaning', 'see the glossary')}")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        out = []
        if not told and (bought := cls.bought(m)):
            out.append(f"Privacy noise bought {bought}.")
        if m.get("dp_note"):
            out.append(m["dp_note"])
        return out

    @classmethod
    def result(cls, run):
        m = run.metrics
        if "epsilon" not in m:
            return None
        notes = (m["dp_note"],) if m.get("dp_note") else ()
        if m.get("dp_layer_changes"):
            notes += ("To train privately, these layers were swapped for compatible ones: "
                      + "; ".join(m["dp_layer_changes"]),)
        return Section(
            tiles=(Tile("Privacy budget ε", f"{m['epsilon']:.2f}",
                        "Differential privacy's ε, counted by Opacus' accountant ("
                        + DPNoise.params[-1].word(m["accountant"]) + "). Smaller means more "
                        "private."),
                   Tile("δ", f"{m['delta']:.1e}",
                        delta_in_words(m["delta"], m["dp_examples"]) if m.get("dp_examples")
                        else "The small chance the ε guarantee does not hold."),
                   Tile("Noise multiplier", f"{m['noise_multiplier']:.2f}")),
            lines=(f"ε = {m['epsilon']:.2f} means **{m['epsilon_meaning']}**.",),
            notes=notes)
