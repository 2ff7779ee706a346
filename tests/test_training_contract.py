"""The training loop's contract: declared fields and owners, declared per-step hooks and
phases, capabilities instead of technique names, and config-time refusals in plain words."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from playground.training import techniques as T
from playground.training.capabilities import (
    DECISION_RULE,
    LEARNS_FROM_RUN,
    PER_EXAMPLE_GRADIENTS,
    PRIVACY_GUARANTEE,
    QUANTIZED_COPY,
)
from playground.training.config import ConfigError, make_config
from playground.training.context import ReplacedTwice, SilentReporter, TrainContext
from playground.training.techniques.base import (
    HOOKS,
    TECHNIQUES,
    Technique,
    defined_per_step,
    providers,
    register,
)

FOLDER = Path(T.__file__).parent


def test_every_technique_declares_the_per_step_hooks_it_defines():
    for cls in T.all_techniques():
        assert frozenset(cls.per_step) == defined_per_step(cls), cls.name
        assert (cls.decide is not Technique.decide) == (DECISION_RULE in cls.provides)


def test_a_plugin_whose_per_step_is_wrong_is_refused_at_registration():
    class Sneaky(Technique):
        name, title, order = "sneaky", "Sneaky", 999

        def on_batch(self, ctx, xb, yb):
            return xb, yb

    with pytest.raises(ValueError, match="per_step must list"):
        register(Sneaky)
    assert "sneaky" not in TECHNIQUES


def test_every_hook_is_documented_in_one_place():
    hooks = {n for n, v in vars(Technique).items()
             if callable(v) and not n.startswith("_") and not isinstance(v, classmethod)}
    assert hooks <= set(HOOKS), hooks - set(HOOKS)
    for name in ("loss", "after_step", "after_epoch", "on_batch", "decide"):
        assert getattr(Technique, name).__doc__, name


def test_two_deciders_are_refused_at_config_time():
    class OtherRule(Technique):
        name, title, order = "other_rule", "Another decision rule", 998
        provides = (DECISION_RULE,)
        kinds = ("tabular",)

        def decide(self, ctx, probs):
            return probs.argmax(1)

    register(OtherRule)
    try:
        out = T.validate({"fairness": {}, "other_rule": {}}, "tabular")
        assert any("Fairness post-processing and Another decision rule both bring "
                   "its own rule turning the model's scores into decisions" in p
                   for p in out.problems), out.problems
        assert not any("fairness" in p.split(":")[0] and "'" in p for p in out.problems)
    finally:
        TECHNIQUES._items.pop("other_rule", None)  # a test plug-in: leave the registry as it was


def test_a_part_of_the_loop_replaced_twice_is_refused_with_both_names():
    config = make_config(dataset="digits", model="mlp", width=8, device="cpu", epochs=1)
    ctx = TrainContext(config, SilentReporter(), [])
    first, second = T.technique_class("dp")(), T.technique_class("mixed_precision")()
    ctx.replace("loader", [1], by=first)
    ctx.replace("loader", [2], by=first)  # its owner may replace it again
    with pytest.raises(ReplacedTwice, match="Mixed precision .* and Privacy noise"):
        ctx.replace("loader", [3], by=second)
    assert ctx.loader == [2] and ctx.owner("loader") == "dp"
    with pytest.raises(AttributeError, match="ctx.replace"):
        ctx.model = None
    with pytest.raises(AttributeError, match="request_stop"):
        ctx.stop = True


def test_fine_tuning_is_a_phase_the_schedule_and_early_stopping_read():
    class Phases(Technique):
        per_step = frozenset({"after_step"})

        def on_model(self, ctx):
            self.seen = []

        def after_step(self, ctx):
            self.seen.append((ctx.phase, ctx.optimizer.param_groups[0]["lr"]))

    config = make_config(dataset="digits", model="mlp", width=16, device="cpu", epochs=2,
                         lr=0.02, schedule="cosine", prune=0.5, prune_fine_tune=1,
                         early_stop=1)
    recorder = Phases()
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques) + [recorder])
    ctx.setup()
    ctx.fit()
    phases = [p for p, _ in recorder.seen]
    trained = phases.count("train")
    assert trained in (ctx.steps_per_epoch, 2 * ctx.steps_per_epoch)
    assert phases[trained:] == ["fine-tune"] * ctx.steps_per_epoch
    fine_rates = [lr for p, lr in recorder.seen if p == "fine-tune"]
    assert fine_rates == [pytest.approx(0.1 * 0.02)] * ctx.steps_per_epoch
    assert ctx.phase == "done" and len(ctx.history) == trained // ctx.steps_per_epoch + 1


def test_two_techniques_asking_for_fine_tuning_are_refused_by_the_loop_too():
    # validate() refuses this config first; the loop's own guard holds for direct callers.
    class AsksForTwo(Technique):
        title = "Asks for two"

        def fine_tune_epochs(self):
            return 2

    class AsksForOne(AsksForTwo):
        title = "Asks for one"

        def fine_tune_epochs(self):
            return 1

    config = make_config(dataset="digits", model="mlp", width=8, device="cpu", epochs=1)
    ctx = TrainContext(config, SilentReporter(), [AsksForTwo(), AsksForOne()])
    ctx.setup()
    with pytest.raises(ValueError, match="Asks for two and Asks for one each ask for "
                                         "fine-tuning epochs; only one of them can"):
        ctx.fit()
    assert ctx.phase != "fine-tune"


def test_capability_queries():
    assert [c.name for c in providers({"dp": {}, "dropout": {}}, PRIVACY_GUARANTEE)] == ["dp"]
    assert {c.name for c in providers(TECHNIQUES.names(), LEARNS_FROM_RUN)} >= {
        "distillation", "init_from"}
    assert [c.name for c in providers(TECHNIQUES.names(), QUANTIZED_COPY)] == ["quantization"]
    assert T.together_note(T.technique_class("dp"), T.technique_class("distillation"))
    assert T.conflict(T.technique_class("fairness"), T.technique_class("quantization"))
    assert PER_EXAMPLE_GRADIENTS in T.technique_class("dp").provides


def test_refusals_are_plain_and_name_titles_not_keys():
    with pytest.raises(ConfigError) as caught:
        make_config(dataset="digits", model="mlp", dp_noise=1.0, adversarial_training=0.1)
    text = " ".join(caught.value.problems)
    assert "Adversarial training can't be combined with Privacy noise (DP-SGD)" in text
    assert "ε would no longer hold" in text


def test_no_technique_module_names_another_techniques_key():
    keys = set(TECHNIQUES.names())
    found = []
    for path in sorted(FOLDER.glob("*.py")):
        tree = ast.parse(path.read_text())
        own = {n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "name" for t in n.targets)
               and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in keys - own):
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert not found, found
