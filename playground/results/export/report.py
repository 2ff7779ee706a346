"""The offline HTML report of a comparison: charts, tables and configs in one file."""
from __future__ import annotations

import html
import time
from typing import Any, Sequence

import pandas as pd

from playground.common.escape import html as esc
from playground.common.formatting import percent
from playground.common.metric_registry import table_metrics
from playground.results import charts, tradeoff_charts
from playground.results.answers import Answers, answers
from playground.results.export.tables import run_row
from playground.results.export.vega import _LOADER, _script_json, vega_bundle
from playground.results.pareto import COSTS, flat_words, front_rows
from playground.results.run_diff import (
    config_changes,
    confusion_diff,
    confusion_story,
    differing_settings,
    per_class_scores,
    roc_points,
)
from playground.results.ship import Limit
from playground.results.shipped import run_point
from playground.training.artifacts import load_predictions
from playground.training.config import flat_names

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}th{background:#f6f6f6}
tr.differs td{background:#fff3b0;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}.chart{min-width:320px}
.note{color:#555;font-size:.9rem}pre{background:#f6f6f6;padding:.6rem;overflow:auto}
.pick{background:#eef7ee;border-left:4px solid #2e7d32;padding:.6rem 1rem;font-size:1.05rem}
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


def _summary(r: _Report, said: Answers, runs: Sequence) -> None:
    """What a founder reads first: the pick and why the others are out, each run in
    percentages and sentences, whether the differences are bigger than luck, the groups."""
    names = said.names
    r.add("<h2>Summary</h2>")
    r.add(f"<p class='pick'><strong>{esc(said.pick.summary(names))}</strong></p>")
    if reasons := said.pick.reasons(names):
        r.add("<p>Why not the others:</p><ul>"
              + "".join(f"<li>{esc(line)}</li>" for line in reasons) + "</ul>")
    if said.lucks:
        r.add("<h3>Bigger than luck?</h3><p class='note'>Measured on the runs' own test "
              "answers (McNemar's exact test and a bootstrap interval of the difference); "
              "a difference within luck is what chance alone gives.</p><ul>"
              + "".join(f"<li>{esc(line)}</li>" for line in said.luck_lines()) + "</ul>")
    rows = []
    for run in runs:
        b = said.business.get(run.id, {})
        rows.append({"run": names[run.id], "accuracy": percent(run_point(run).accuracy),
                     "fairness gap": _points(b.get("fairness_gap_points")),
                     "privacy ε": _number(b.get("privacy_epsilon"), ".2f"),
                     "δ": _number(b.get("privacy_delta"), ".1e"),
                     "attacker right (50% = chance)": _pct(b.get("attacker_right_percent")),
                     "right under attack": _pct(b.get("right_under_attack_percent"))})
    r.add(_table(pd.DataFrame(rows).set_index("run")))
    if said.groups:
        r.add("<h3>Group by group</h3><p class='note'>Per group of the sensitive column: how "
              "often the model said yes (approval rate), how often it was right, and how often "
              "it agreed with a past yes.</p>")
        table = pd.DataFrame([{k: (percent(v) if isinstance(v, float) else v)
                               for k, v in row.items() if k != "run_id"}
                              for row in said.groups]).set_index("run")
        r.add(_table(table))
    for run in runs:
        if lines := said.stories.get(run.id):
            r.add(f"<h3>{esc(names[run.id])}</h3><ul>"
                  + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")


def _points(value) -> str:
    return "—" if value is None else f"{value:.1f} points"


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _number(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _numbers(runs: Sequence, names: dict[str, str]) -> pd.DataFrame:
    """Every declared metric a run has, formatted as the app shows it (percentages, KB)."""
    metrics = [m for m in table_metrics() if any(m.value(r.metrics) is not None for r in runs)]
    return pd.DataFrame({names[r.id]: {m.label: m.format(m.value(r.metrics)) for m in metrics}
                         for r in runs})


def html_report(store, runs: Sequence, title: str = "Trade-off report",
                limits: Sequence[Limit] = ()) -> str:
    """One self-contained HTML page comparing `runs`: first the summary (the run to ship
    within `limits` and why the others are out, percentages, the narrative sentences,
    luck, the per-group table), then numbers, settings, what changed, Pareto views,
    confusion matrices and their difference, per-class scores, ROC (binary data), learning
    curves and every config. Opens offline; nothing is fetched."""

    runs = list(runs)
    said = answers(store, runs, limits)
    r = _Report()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    r.add(f"<h1>{html.escape(title)}</h1><p class='note'>{len(runs)} runs, exported {when} "
          "from the Trade-off Playground. This file is self-contained: it opens without a "
          "network connection.</p>")
    _summary(r, said, runs)

    r.add("<h2>Numbers</h2><p class='note'>Quantized runs count their shipped (quantized) "
          "size, speed and accuracy in the summary above.</p>")
    r.add(_table(_numbers(runs, said.names)))

    r.add("<h2>Settings</h2>")
    frame = pd.DataFrame([run_row(run) for run in runs]).set_index("run_id").T
    frame = frame.drop(index=[m.key for m in table_metrics() if m.key in frame.index])
    flat = flat_names()  # (technique, param) -> its column
    differs = {name if tech is None else flat.get((tech, name), name)
               for tech, name in differing_settings([r.config for r in runs])}
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

    # Runs that answer classes: a pretraining run (it guesses hidden words) has no matrix.
    finished = [run for run in runs if run.status == "finished"
                and "confusion_matrix" in (run.metrics or {})]
    points = [run_point(run) for run in finished]
    if points:
        r.add("<h2>Trade-offs</h2><p class='note'>Red: runs no other run beats on both "
              "numbers (the Pareto front). Grey: another run is at least as good on both "
              "and better on one.</p><div class='grid'>")
        flat = []
        for cost, metric in COSTS.items():
            rows = front_rows(points, cost)
            if not any(row["plotted"] for row in rows):
                continue
            if (words := flat_words(points, metric)) is not None:
                flat.append(words)
                continue
            r.chart(tradeoff_charts.pareto_chart(rows, cost, log_x=metric.unit == "bytes")
                    .properties(width=460), metric.help)
        r.add("</div>" + "".join(f"<p class='note'>{esc(w)}</p>" for w in flat))

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
