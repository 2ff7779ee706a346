"""A technique is one file, for real: drop one module into the techniques folder (of a copy
of the project) and, with no other change, it is in the CLI's flags, shareable links, the
Train page's switches, Learn, the glossary, sweeps, a run's story and the run card; the
metric it declares is a row of Compare's table, a Pareto axis, a CSV column and a workshop
leaderboard. Also:
the order of the loop's hooks is what the plug-ins declare."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from playground.training.techniques import build, technique_class

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''"""Brightness: every training input shifted by the same amount (a test's plug-in)."""
from __future__ import annotations

from playground.common.content import Lesson, Section, Term
from playground.common.metric_registry import LOWER, Metric
from playground.training.techniques.base import Param, Technique, register

SHIFT = Metric("brightness_shift", "Brightness shift applied", better=LOWER, fmt=".2f",
               pareto="cost", leaderboard=True, limit=0.5, help="How far inputs moved.")


@register
class Brightness(Technique):
    name = "brightness"
    title = "Brightness shift"
    description = "Shifts every training input by the same amount. Nothing else changes."
    order = 95
    per_step = frozenset({"on_batch"})  # the per-step hooks it defines
    metrics = (SHIFT,)
    params = (Param("shift", 0.1, "How far every input moves.", 0.0, 1.0,
                    flag="--brightness", sweep="0, 0.1, 0.5"),)
    terms = (Term("brightness", "Brightness shift", "Moving every input by the same amount."),)
    lesson = Lesson("Moves every training input a little.",
                    "Robustness to lighter pictures against a little accuracy on the originals.",
                    "A team whose camera takes brighter photos than the ones it trained on.",
                    {"dataset": "moons", "model": "mlp", "epochs": 1, "brightness": 0.2})

    def on_batch(self, ctx, xb, yb):
        return xb + self.s.shift, yb

    def finalize(self, ctx, metrics):
        metrics["brightness_shift"] = self.s.shift

    @classmethod
    def story(cls, run, baseline=None, told=False):
        return [f"Every training input was shifted by {run.metrics['brightness_shift']:g}."]

    @classmethod
    def result(cls, run):
        return Section(lines=(f"**Brightness**: {run.metrics['brightness_shift']:g}.",))
'''

CHECKS = '''
import json, sys
from streamlit.testing.v1 import AppTest

from components.experiments.sweep_control import suggested
from playground.experiments.links import config_to_query, query_to_values
from playground.teaching import glossary, lessons
from playground.training.config import make_config
from playground.training.techniques import all_techniques

found = {}
found["registry"] = [c.name for c in all_techniques() if c.order >= 90][:3]
config = make_config(dataset="moons", model="mlp", brightness=0.3)
query = config_to_query(config)
found["link"] = [query.get("brightness"), query_to_values(query)[0].get("brightness")]
found["glossary"] = glossary.term("brightness").name
found["help"] = glossary.technique_help("brightness", "x")
found["learn"] = [e.title for e in lessons.entries() if e.name == "brightness"]
found["try_it"] = lessons.try_it("brightness").values
found["sweep"] = suggested("brightness")
train = AppTest.from_file("app.py", default_timeout=120)
train.query_params["view"] = "all"  # every switch (simple mode lists the plain choices)
train = train.switch_page("pages/train.py").run()
found["switches"] = [t.label for t in train.main.toggle]
learn = AppTest.from_file("app.py", default_timeout=120).switch_page("pages/learn.py").run()
found["learn_page"] = [h.value for h in learn.subheader]
runs = AppTest.from_file("app.py", default_timeout=120).switch_page("pages/runs.py").run()
found["card"] = [m.value for m in runs.main.markdown]
found["exceptions"] = [str(e.value) for a in (train, learn, runs) for e in a.exception]

import os
from pathlib import Path
from components.results.comparison import comparison_table
from playground.experiments.leaderboards import leaderboards
from playground.experiments.workshop import Boards
from playground.results.export.tables import runs_csv
from playground.results.pareto import COSTS, front_rows
from playground.results.shipped import run_point
from playground.runs.store import Store

run = Store(Path(os.environ["PLAYGROUND_HOME"])).list_runs(statuses=("finished",))[0]
found["compare"] = comparison_table([run]).data[run.id].get("Brightness shift applied")
found["pareto"] = ["brightness_shift" in COSTS,
                   front_rows([run_point(run)], "brightness_shift")[0]["cost"]]
header, row = runs_csv([run]).splitlines()[:2]
found["csv"] = dict(zip(header.split(","), row.split(","))).get("brightness_shift")
board = {b.key: b for b in leaderboards([run], Boards(), "moons")}.get("brightness_shift")
found["board"] = [board.title, [e.run_id for e in board.entries] == [run.id]] if board else None
print(json.dumps(found))
'''


def test_a_technique_added_as_one_file_shows_up_everywhere(tmp_path: Path):
    copy = tmp_path / "project"
    for part in ("playground", "models", "components", "pages", ".streamlit"):
        shutil.copytree(ROOT / part, copy / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "app.py", copy / "app.py")
    (copy / "playground/training/techniques/brightness.py").write_text(PLUGIN)
    env = dict(os.environ, PLAYGROUND_HOME=str(tmp_path / "home"), PLAYGROUND_WORKERS="0",
               PYTHONPATH=str(copy))

    def run(*args, **kwargs):
        done = subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True,
                              text=True, timeout=600, **kwargs)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert "--brightness" in run("-m", "playground", "train", "--help")
    trained = json.loads(run("-m", "playground", "train", "--dataset", "moons", "--model",
                             "mlp", "--epochs", "1", "--brightness", "0.2", "--json"))
    assert trained["config"]["techniques"] == {"brightness": {"shift": 0.2}}
    shown = json.loads(run("-m", "playground", "show", trained["run_id"], "--json"))
    assert "Every training input was shifted by 0.2." in shown["story"]

    found = json.loads(run("-c", CHECKS).strip().splitlines()[-1])
    assert found["exceptions"] == []
    # its order, 95: after quantization (90), before weight decay (100)
    assert found["registry"] == ["quantization", "brightness", "weight_decay"]
    assert found["link"] == ["0.3", 0.3]
    assert found["glossary"] == "Brightness shift"
    assert "Moving every input by the same amount." in found["help"]
    assert found["learn"] == ["Brightness shift"] and found["try_it"]["brightness"] == 0.2
    assert found["sweep"] == "0, 0.1, 0.5"
    assert "Brightness shift" in found["switches"]
    assert "Brightness shift" in found["learn_page"]
    assert "**Brightness**: 0.2." in found["card"]
    # its metric, declared in that file only
    assert found["compare"] == "0.20"
    assert found["pareto"] == [True, 0.2]
    assert found["csv"] == "0.2"
    assert found["board"] == ["Most accurate with brightness shift applied ≤ 0.5", True]


def test_hooks_run_in_the_order_the_plugins_declare():
    everything = {name: {} for name in (
        "augmentation", "distillation", "dp", "dropout", "early_stopping", "lr_schedule",
        "mixed_precision", "pruning", "quantization", "weight_decay")}
    everything["distillation"] = {"teacher": "x"}
    settings = {k: {p.name: p.default for p in technique_class(k).params} | v
                for k, v in everything.items()}
    order = [t.name for t in build(settings)]
    # The loop's constraints (see each hook): augmentation changes a batch before the
    # teacher sees it; distillation shapes the loss before DP's clipping; DP unwraps the
    # model before early stopping restores weights and before pruning zeroes some.
    assert order == ["augmentation", "distillation", "dp", "dropout", "early_stopping",
                     "lr_schedule", "mixed_precision", "pruning", "quantization",
                     "weight_decay"]
