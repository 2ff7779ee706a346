"""Exports: a comparison as one offline HTML report or as CSV / JSON, and a run's model as
a zip (safetensors weights, config JSON, a standalone script that rebuilds and evaluates it).

The report must open with no network at all, so the chart library travels inside it: the
vega-embed bundle that Streamlit itself ships (an ES-module chunk graph under
streamlit/static), inlined as text and loaded from blob: URLs at open time. If that bundle
can't be found, the report still holds every table, with a note instead of charts.
"""
from __future__ import annotations

import html
import io
import json
import re
import time
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from playground.pareto import COSTS, front_rows, run_point
from playground.run_diff import (
    config_changes,
    confusion_diff,
    confusion_story,
    per_class_scores,
    roc_points,
)
from playground.url_state import config_values

# -- tables ----------------------------------------------------------------------------


def run_row(run) -> dict[str, Any]:
    """One flat row per run: what it was, then what came of it."""
    m = run.metrics or {}
    p = run_point(run)
    row: dict[str, Any] = {"run_id": run.id, "status": run.status,
                           "switched_on": p.label, "label": run.config.label()}
    for key, value in config_values(run.config).items():
        if key != "techniques":
            row[key] = value
    row.update({
        "accuracy": m.get("accuracy"), "f1_macro": m.get("f1_macro"),
        "params": m.get("params"), "size_bytes": m.get("size_bytes"),
        "latency_ms": m.get("latency_ms"), "train_seconds": m.get("train_seconds"),
        "epsilon": m.get("epsilon"), "delta": m.get("delta"),
        "deployed_accuracy": p.accuracy, "deployed_size_bytes": p.size_bytes,
        "deployed_latency_ms": p.latency_ms, "device": run.device or m.get("device"),
    })
    return row


_RESULT_ROWS = {"status", "label", "switched_on", "accuracy", "f1_macro", "params", "size_bytes",
                "latency_ms", "train_seconds", "epsilon", "delta", "deployed_accuracy",
                "deployed_size_bytes", "deployed_latency_ms", "device"}


def runs_frame(runs: Sequence) -> pd.DataFrame:
    return pd.DataFrame([run_row(r) for r in runs])


def runs_csv(runs: Sequence) -> str:
    return runs_frame(runs).to_csv(index=False)


def runs_json(runs: Sequence, store=None) -> str:
    """Every selected run in full: config, metrics, and per-epoch history if a store is given."""
    data = []
    for run in runs:
        item = run.to_json()
        if store is not None:
            item["epochs"] = store.epochs(run.id)
        data.append(item)
    return json.dumps(data, indent=1, default=str)


# -- the chart library, from Streamlit's own static files --------------------------------

_FROM = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'`])\./([\w.\-]+\.js)\2""")


@lru_cache(maxsize=1)
def vega_bundle() -> dict[str, Any] | None:
    """{"entry", "export", "order", "modules"} for vega-embed, or None if not found.

    Streamlit loads vega-embed lazily: loadVegaEmbed-*.js imports the embed chunk and reads
    `.default` of one of its exports; that chunk's static imports close over a few small
    chunks. Modules are returned dependencies first.
    """
    from importlib.util import find_spec

    spec = find_spec("streamlit")  # located, never imported: the core stays UI-free
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "static" / "static" / "js"
    loaders = sorted(folder.glob("loadVegaEmbed*.js"))
    if not loaders:
        return None
    found = re.search(r"import\(\s*[`\"']\./(embed[\w.\-]*\.js)[`\"']\s*\)\.then\(\s*(\w+)"
                      r"\s*=>\s*\2\.(\w+)\s*\)", loaders[0].read_text())
    if not found:
        return None
    entry, export = found.group(1), found.group(3)
    modules: dict[str, str] = {}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> bool:
        if name in modules:
            return True
        if name in visiting or not (folder / name).exists():
            return False  # a cycle or a missing file: blob URLs can't express it
        visiting.add(name)
        source = (folder / name).read_text()
        for dep in dict.fromkeys(m.group(3) for m in _FROM.finditer(source)):
            if not visit(dep):
                return False
        visiting.discard(name)
        modules[name] = source
        order.append(name)
        return True

    if not visit(entry):
        return None
    return {"entry": entry, "export": export, "order": order, "modules": modules}


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data).replace("</", "<\\/").replace("<!--", "<\\!--")


_LOADER = """
const bundle = JSON.parse(document.getElementById("vega-bundle").textContent);
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
const urls = {};
for (const name of bundle.order) {  // dependencies first: each import points at a blob
  const source = bundle.modules[name].replace(
    /(\\bfrom\\s*|\\bimport\\s*\\(?\\s*)(["'`])\\.\\/([\\w.\\-]+\\.js)\\2/g,
    (m, pre, q, dep) => pre + q + urls[dep] + q);
  urls[name] = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
}
const embed = (await import(urls[bundle.entry]))[bundle.export].default;
for (const [id, spec] of Object.entries(specs)) {
  await embed("#" + id, spec, {actions: false, renderer: "svg"});
}
document.body.dataset.chartsReady = Object.keys(specs).length;
"""

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}th{background:#f6f6f6}
tr.differs td{background:#fff3b0;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}.chart{min-width:320px}
.note{color:#555;font-size:.9rem}pre{background:#f6f6f6;padding:.6rem;overflow:auto}
"""


def _table(frame: pd.DataFrame, highlight: set[str] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [""] + list(frame.columns))
    body = []
    for index, row in frame.iterrows():
        cls = ' class="differs"' if index in highlight else ""
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr{cls}><th>{html.escape(str(index))}</th>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class _Report:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.specs: dict[str, dict] = {}

    def add(self, text: str) -> None:
        self.parts.append(text)

    def chart(self, chart, caption: str = "") -> None:
        key = f"chart-{len(self.specs) + 1}"
        self.specs[key] = chart.to_dict()
        note = f'<div class="note">{html.escape(caption)}</div>' if caption else ""
        self.parts.append(f'<div class="chart"><div id="{key}"></div>{note}</div>')


def html_report(store, runs: Sequence, title: str = "Trade-off report") -> str:
    """One self-contained HTML page comparing `runs`: numbers, settings, what changed,
    Pareto views, confusion matrices and their difference, per-class scores, ROC (binary
    data), learning curves and every config. Opens offline; nothing is fetched."""
    from playground import charts, tradeoff_charts

    runs = list(runs)
    r = _Report()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    r.add(f"<h1>{html.escape(title)}</h1><p class='note'>{len(runs)} runs, exported {when} "
          "from the Trade-off Playground. This file is self-contained: it opens without a "
          "network connection.</p>")

    r.add("<h2>Numbers</h2><p class='note'>Quantized runs also list their shipped "
          "(quantized) size, speed and accuracy.</p>")
    frame = runs_frame(runs).set_index("run_id").T
    differs = {k for k in frame.index if k not in _RESULT_ROWS
               and frame.loc[k].astype(str).nunique() > 1}
    r.add(_table(frame, differs))
    r.add("<p class='note'>Highlighted rows: settings that differ between the runs.</p>")

    if len(runs) > 1:
        r.add("<h2>What changed</h2>")
        first = runs[0]
        for other in runs[1:]:
            changes = config_changes(first.config, other.config) or ["nothing: same settings"]
            items = "".join(f"<li>{html.escape(c)}</li>" for c in changes)
            r.add(f"<p>From <code>{first.id}</code> to <code>{other.id}</code>:</p>"
                  f"<ul>{items}</ul>")

    finished = [run for run in runs if run.status == "finished"]
    points = [run_point(run) for run in finished]
    if points:
        r.add("<h2>Trade-offs</h2><p class='note'>Red: runs no other run beats on both "
              "numbers (the Pareto front). Grey: another run is at least as good on both "
              "and better on one.</p><div class='grid'>")
        for cost, (_, why) in COSTS.items():
            rows = front_rows(points, cost)
            if not any(row["plotted"] for row in rows):
                continue
            r.chart(tradeoff_charts.pareto_chart(rows, cost, log_x=cost == "size_bytes")
                    .properties(width=460), why)
        r.add("</div>")

        r.add("<h2>Confusion matrices</h2><div class='grid'>")
        for run in finished:
            r.chart(charts.confusion_matrix_chart(run.metrics["confusion_matrix"],
                                                  run.metrics["class_names"], title=run.id))
        r.add("</div>")
        same_data = [run for run in finished if run.config.dataset == finished[0].config.dataset]
        if len(same_data) > 1:
            a, b = same_data[0], same_data[1]
            diff = confusion_diff(a.metrics["confusion_matrix"], b.metrics["confusion_matrix"])
            story = confusion_story(a.metrics["confusion_matrix"],
                                    b.metrics["confusion_matrix"], a.metrics["class_names"])
            r.add(f"<h3>{b.id} minus {a.id}</h3><ul>"
                  + "".join(f"<li>{html.escape(s)}</li>" for s in story or ["no change"])
                  + "</ul>")
            r.chart(tradeoff_charts.confusion_diff_chart(diff, a.metrics["class_names"]))

        r.add("<h2>Per-class precision, recall and F1</h2>")
        per_class = []
        for run in finished:
            for row in per_class_scores(run.metrics["confusion_matrix"],
                                        run.metrics["class_names"]):
                per_class.append({"run": run.id, **row})
        table = pd.DataFrame(per_class).set_index(["run", "class"])
        r.add(_table(table.reset_index().set_index("run")))
        r.add("<div class='grid'>")
        for metric in ("precision", "recall", "f1"):
            r.chart(tradeoff_charts.per_class_chart(per_class, metric).properties(width=340))
        r.add("</div>")

        binary = [run for run in finished if len(run.metrics["class_names"]) == 2]
        curves = []
        for run in binary:
            try:
                from playground.artifacts import load_predictions

                pred = load_predictions(store, run.id)
            except (OSError, ValueError):
                continue
            pts, auc = roc_points(pred["y_true"], pred["probs"][:, 1])
            curves += [{"run": f"{run.id} (AUC {auc:.3f})", **p} for p in pts]
        if curves:
            r.add("<h2>ROC curves</h2>")
            r.chart(tradeoff_charts.roc_chart(curves).properties(width=460))

        epochs = store.epochs_for([run.id for run in finished])
        if epochs:
            labels = {run.id: f"{run.id} ({run.config.label()})" for run in finished}
            r.add("<h2>Learning curves</h2><div class='grid'>")
            for metric in ("accuracy", "loss"):
                r.chart(charts.learning_curves_chart(epochs, labels, metric, width=460))
            r.add("</div>")

    r.add("<h2>Configs</h2>")
    for run in runs:
        r.add(f"<h3>{run.id}</h3><pre>{html.escape(run.config.model_dump_json(indent=1))}"
              "</pre>")

    bundle = vega_bundle()
    if bundle is None:
        scripts = ("<p class='note'>Charts are missing from this report: the chart library "
                   "that ships with Streamlit was not found. Every number is in the tables.</p>")
    else:
        scripts = (f'<script type="application/json" id="vega-bundle">{_script_json(bundle)}'
                   f'</script><script type="application/json" id="chart-specs">'
                   f'{_script_json(r.specs)}</script><script type="module">{_LOADER}</script>')
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "".join(r.parts) + scripts + "</body></html>")


# -- a run's model -------------------------------------------------------------------------

_SCRIPT = '''"""Rebuild run {run_id} from its exported weights and evaluate it on its test split.

    python evaluate.py [--repo PATH_TO_THE_PLAYGROUND]

It needs the Trade-off Playground's library (the `playground` and `models` packages):
run it from the playground's folder, or pass --repo, or set PLAYGROUND_REPO. The data
split comes from the config (dataset, seed, noise), so the test examples are the same
ones the run was scored on. For a dataset you uploaded, set PLAYGROUND_HOME to the
playground's data folder first. A quantized run is also scored after quantizing.
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repo", default=os.environ.get("PLAYGROUND_REPO", os.getcwd()))
args = parser.parse_args()
sys.path.insert(0, args.repo)

from safetensors.torch import load_file  # noqa: E402

from playground.artifacts import build_run_model, predict_probs  # noqa: E402
from playground.config import RunConfig  # noqa: E402
from playground.datasets import fewer_examples, load_dataset  # noqa: E402

exported = json.loads((HERE / "config.json").read_text())
config = RunConfig.model_validate(exported["config"])
# The run's own split; a smaller training share leaves the test examples as they are.
data = fewer_examples(load_dataset(config.dataset, config.seed, config.noise),
                      config.train_fraction, config.seed)
model = build_run_model(config, data)
model.load_state_dict(load_file(str(HERE / "weights.safetensors")))
model.eval()

predicted = predict_probs(model, data.X_test).argmax(axis=1)
accuracy = float((predicted == data.y_test).mean())
result = {{"run_id": exported["run_id"], "test_examples": int(len(data.y_test)),
          "test_accuracy": accuracy,
          "recorded_test_accuracy": exported["metrics"].get("accuracy")}}

mode = config.techniques.get("quantization", {{}}).get("mode")
if mode:  # the model as it would ship: quantized the same way the run was
    import torch

    from playground import quantize
    from playground.techniques.quantization import CALIBRATION_EXAMPLES

    device = torch.device("cpu")
    if quantize.supported(mode, device) is None:
        # int8 activation ranges come from the first training examples, as in the run.
        calibration = torch.from_numpy(data.X_train[:CALIBRATION_EXAMPLES])
        qmodel, qdevice = quantize.quantize(model, mode, device, calibration)
        X = torch.from_numpy(data.X_test).to(qdevice, quantize.input_dtype(mode))
        with torch.no_grad():
            qpred = qmodel(X).float().argmax(1).cpu().numpy()
        result["quantized_test_accuracy"] = float((qpred == data.y_test).mean())
        result["recorded_quantized_test_accuracy"] = (
            exported["metrics"].get("quantized") or {{}}).get("accuracy")
print(json.dumps(result))
'''

_README = """Run {run_id}: {label}

weights.safetensors  the trained weights (float32, safetensors: no pickle inside)
config.json          the run's full config and its recorded metrics
evaluate.py          rebuilds the model with the playground's library and scores it:
                     python evaluate.py --repo PATH_TO_THE_PLAYGROUND
                     (for an uploaded dataset, set PLAYGROUND_HOME to its data folder)
"""


def model_zip(store, run_id: str) -> bytes:
    """A finished run's weights, config and evaluation script as zip bytes; ValueError
    says why not (unknown id, not finished, weights missing)."""
    from playground.training import WEIGHTS_FILE

    run = store.get(run_id)
    if run is None:
        raise ValueError(f"run {run_id!r}: no run has this id")
    if run.status != "finished":
        raise ValueError(f"run {run_id!r} is {run.status}; only finished runs have a model")
    weights = store.artifact_dir(run_id) / WEIGHTS_FILE
    if not weights.exists():
        raise ValueError(f"run {run_id!r}: its weights file is missing ({weights})")
    metrics = {k: v for k, v in run.metrics.items() if k != "confusion_matrix"}
    config = {"run_id": run.id, "config": run.config.model_dump(), "metrics": metrics,
              "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(weights, "weights.safetensors")
        z.writestr("config.json", json.dumps(config, indent=1, default=str))
        z.writestr("evaluate.py", _SCRIPT.format(run_id=run.id))
        z.writestr("README.txt", _README.format(run_id=run.id, label=run.config.label()))
    return buffer.getvalue()
