"""No technique's key and no key of a metric a technique or an audit declares is written as a
string outside the module that produces it: everything else reads it through the producer's
handle (`dp.EPSILON`) or loops over the registries, so a plug-in stays one file."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

from playground.common.metric_registry import EVALUATION, all_metrics
from playground.results import shipped  # noqa: F401  (declares every metric)
from playground.training.techniques import TECHNIQUES

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("playground", "components", "pages", "models")
# The registries themselves may name what they hold.
REGISTRIES = {"playground/common/metric_registry.py", "playground/common/registry.py",
              "playground/training/techniques/__init__.py",
              "playground/training/techniques/base.py"}
# Stored keys older than the technique or metric of the same name, written by their own
# producer: the fairness audit's report lives in metrics["fairness"], and the membership
# audit records the (ε, δ) promise it checked under "epsilon" and "delta".
SHARED = {("fairness", "playground/training/audits/fairness.py"),
          ("epsilon", "playground/training/audits/membership.py"),
          ("delta", "playground/training/audits/membership.py")}


def _file(module: str) -> str:
    return str(Path(sys.modules[module].__file__).resolve().relative_to(ROOT))


def owners() -> dict[str, set[str]]:
    """Each protected string -> the files that produce it."""
    out: dict[str, set[str]] = {}
    for name in TECHNIQUES.names():
        out.setdefault(name, set()).add(_file(TECHNIQUES.get(name).__module__))
    for m in all_metrics():
        if m.section == EVALUATION:
            continue
        module = TECHNIQUES.get(m.producer).__module__ if m.producer in TECHNIQUES else m.module
        out.setdefault(m.key, set()).add(_file(module))
    return out


def offenders() -> list[str]:
    owned = owners()
    files = [ROOT / "app.py"] + sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py"))
    found = []
    for path in files:
        rel = str(path.relative_to(ROOT))
        if rel in REGISTRIES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in owned and rel not in owned[node.value]
                    and (node.value, rel) not in SHARED):
                who = ", ".join(sorted(owned[node.value]))
                found.append(f"{rel}:{node.lineno}: {node.value!r} belongs to {who}")
    return found


def test_every_protected_key_has_an_owner_that_writes_it():
    owned = owners()
    assert {"dp", "epsilon", "attack_auc", "pgd_errors", "dp_difference"} <= set(owned)
    assert owned["epsilon"] == {"playground/training/techniques/dp.py"}
    assert owned["attack_auc"] == {"playground/training/audits/membership.py"}


def test_no_plugin_key_is_written_outside_its_producer():
    found = offenders()
    assert not found, ("Read these through the producer's handle (e.g. dp.EPSILON.value("
                       "metrics)) or a capability, not by key:\n" + "\n".join(found))


def test_the_scan_catches_a_key_written_elsewhere(tmp_path):
    tree = ast.parse('x = run.metrics.get("epsilon")')
    hits = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in owners()]
    assert [h.value for h in hits] == ["epsilon"]
