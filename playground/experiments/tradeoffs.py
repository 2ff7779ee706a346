"""Try the trade-offs on my data: one click after an upload queues the same small model as it
is, with privacy noise, with equal approval rates across groups (when the data has a
sensitive column and a yes-or-no target), without the sensitive column among its inputs,
and made smaller; the walkthrough is then written from those runs' own numbers, like a
story's.

The runs go through the one way to queue (`workshop.submit_as`: the person's permissions,
and in a workshop its limits), and a small JSON record per dataset and person
(PLAYGROUND_HOME/tradeoffs) finds them again on the next visit.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from playground.common.files import held_once, write_json
from playground.common.formatting import human_bytes, percent
from playground.common.permissions import LOCAL, Actor
from playground.experiments.stories.base import Step, Story, StoryRuns, Walkthrough
from playground.experiments.stories.prose import (
    acc,
    bars,
    change,
    deployed,
    luck_of,
    luck_said,
    points,
    table,
    within_luck,
)
from playground.experiments.stories.records import story_state
from playground.experiments.workshop import submit_as
from playground.runs.store import Run, Store
from playground.training.audits import fairness as fairness_audit
from playground.training.config import make_config
from playground.training.techniques.dp import EPSILON, epsilon_meaning
from playground.training.techniques.fairness import LEGAL_CAUTION

FOLDER = "tradeoffs"
EPOCHS = 10
NOISE = 1.0  # privacy noise multiplier: a clear guarantee at a visible, not crushing, price
# Gap changes smaller than this (in points) are not called a change: a few test rows more or
# less in a group move a gap by about that much.
SAME_GAP = 2.0


# The small model that suits each kind of upload (text: word counts, which also read the
# table's other columns).
FIRST_MODEL = {"image": "cnn", "text": "bow"}


def base_values(manifest: dict[str, Any]) -> dict[str, Any]:
    """The plain run's settings: the small model that suits the data, with the person's own
    choice of sensitive column and of columns the model must not see."""
    values: dict[str, Any] = {"dataset": manifest["name"], "epochs": EPOCHS,
                              "model": FIRST_MODEL.get(manifest["kind"], "mlp")}
    if manifest.get("sensitive"):
        values["sensitive"] = manifest["sensitive"]
    if manifest.get("leave_out"):
        values["leave_out"] = ",".join(manifest["leave_out"])
    return values


def steps(manifest: dict[str, Any]) -> tuple[Step, ...]:
    """The runs of the one-click comparison for this upload, the plain one first."""
    base = base_values(manifest)
    out = [Step("plain", "As it is", base),
           Step("private", "With privacy noise", dict(base, dp_noise=NOISE))]
    sensitive = manifest.get("sensitive") or ""
    left_out = list(manifest.get("leave_out") or ())
    if sensitive and len(manifest.get("class_names", ())) == 2:
        out.append(Step("fair", "Equal approval rates across groups",
                        dict(base, fairness="demographic_parity")))
    if sensitive and sensitive not in left_out and len(manifest.get("columns") or ()) > 1:
        out.append(Step("blind", f"Without {sensitive} as an input",
                        dict(base, leave_out=",".join([*left_out, sensitive]))))
    out.append(Step("smaller", "Made smaller (8-bit)", dict(base, quantize="int8")))
    return tuple(out)


@dataclass
class TradeoffRecord:
    """Which runs answer one person's "Try the trade-offs" on one dataset."""

    dataset: str
    runs: dict[str, str]  # role -> run id
    labels: dict[str, str]  # role -> what the reader sees
    queued_at: float
    workspace: str | None = None
    owner: str | None = None
    refused: list[str] = field(default_factory=list)  # steps the queue refused, in words


def _who(actor: Actor) -> str:
    # Only letters, digits, "_" and "-": safe in a file name and read literally by glob.
    return re.sub(r"[^A-Za-z0-9_-]", "_",
                  f"{actor.kind}_{actor.workspace or '_'}_{actor.person or '_'}")


def _path(home: Path, dataset: str, actor: Actor) -> Path:
    return Path(home) / FOLDER / f"{_who(actor)}__{dataset}.json"


def load_record(home: Path, dataset: str, actor: Actor = LOCAL) -> TradeoffRecord | None:
    try:
        return TradeoffRecord(**json.loads(_path(home, dataset, actor).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def record_for(home: Path, manifest: dict[str, Any],
               actor: Actor = LOCAL) -> TradeoffRecord | None:
    """The person's comparison on this very upload: None when there is none, or when it was
    queued on an earlier upload of the same name (deleted since, its runs on other data)."""
    record = load_record(home, manifest["name"], actor)
    if record is None or record.queued_at < manifest.get("created", 0):
        return None
    return record


def latest_record(home: Path, actor: Actor = LOCAL) -> TradeoffRecord | None:
    """The comparison `actor` started last, on any dataset, or None."""
    found = []
    for path in (Path(home) / FOLDER).glob(f"{_who(actor)}__*.json"):
        try:
            found.append(TradeoffRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return max(found, key=lambda r: r.queued_at, default=None)


LOCK_STALE_S = 60.0


def ensure_tradeoffs(store: Store, manifest: dict[str, Any], actor: Actor = LOCAL, *,
                     again: bool = False) -> tuple[TradeoffRecord | None, bool]:
    """The person's recorded comparison on this upload, queueing it only when there is none
    worth showing (none yet, or a run of it failed or is gone) or `again`. Returns (record,
    queued_now), like a story's `ensure_story`: pressing twice, or two tabs at once, queue it
    once (the second gets the record, or None while the first is still writing it). Raises
    the queue's refusal as `queue_tradeoffs` does."""
    home, name = store.home, manifest["name"]
    record = record_for(home, manifest, actor)
    if record and not again and state(store, record) != "broken":
        return record, False
    path = _path(home, name, actor)
    path.parent.mkdir(parents=True, exist_ok=True)
    with held_once(path.with_suffix(".lock"), LOCK_STALE_S) as held:
        if not held:  # another press is queueing it: theirs, once written
            return record_for(home, manifest, actor), False
        fresh = record_for(home, manifest, actor)
        if fresh and (not again and state(store, fresh) != "broken"
                      or again and record and fresh.queued_at != record.queued_at):
            return fresh, False  # queued by another press while this one waited
        return queue_tradeoffs(store, manifest, actor), True


def queue_tradeoffs(store: Store, manifest: dict[str, Any],
                    actor: Actor = LOCAL) -> TradeoffRecord:
    """Queue every step for `actor` through the one way to queue; a step the queue refuses
    (a workshop's limit reached) is recorded in words and the others still go. Raises the
    queue's own refusal when not even the plain run may be queued."""
    runs: dict[str, str] = {}
    labels: dict[str, str] = {}
    refused: list[str] = []
    for step in steps(manifest):
        config = make_config(**step.values)
        try:
            runs[step.role] = submit_as(store, actor, config, store.home).run_id
        except (ValueError, PermissionError) as exc:  # the workshop's limits, permissions
            if not runs:
                raise
            refused.append(f"{step.label}: {getattr(exc, 'problem', exc)}")
            continue
        labels[step.role] = step.label
    record = TradeoffRecord(manifest["name"], runs, labels, time.time(), actor.workspace,
                            actor.person, refused)
    path = _path(store.home, manifest["name"], actor)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, asdict(record))
    return record


def record_runs(store: Store, record: TradeoffRecord) -> dict[str, Run | None]:
    return {role: store.get(run_id) for role, run_id in record.runs.items()}


def state(store: Store, record: TradeoffRecord) -> str:
    """'finished', 'active' (queued or training) or 'broken' (a run failed or is gone)."""
    return story_state(record_runs(store, record))


# -- the walkthrough --------------------------------------------------------------------------


def _gap(run: Run) -> float | None:
    f = fairness_audit.report(run.metrics) or {}
    value = f.get("demographic_parity_difference")
    return None if value is None else value * 100


def _rates(run: Run) -> dict[str, float]:
    f = fairness_audit.report(run.metrics) or {}
    return {g: v["selection_rate"] for g, v in (f.get("by_group") or {}).items()
            if v.get("selection_rate") is not None}


def _cost(runs: dict[str, Run], role: str) -> str:
    """What a run's change did to accuracy against the plain run, as a verb phrase, with
    whether the difference is bigger than luck when it could be measured."""
    run, plain = runs[role], runs["plain"]
    diff = points(acc(plain), acc(run))
    luck = luck_of(runs, "plain", role)
    said = luck_said(luck)
    if abs(diff) < 0.05:
        return "cost no accuracy"
    if within_luck(luck):
        return f"cost no accuracy beyond luck (a {abs(diff):.1f}-point gap{said})"
    return (f"cost {-diff:.1f} points of accuracy{said}" if diff < 0 else
            f"cost nothing (accuracy {diff:.1f} points higher{said})")


def blind_verdict(plain_gap: float, blind_gap: float, column: str) -> str:
    """Whether leaving the sensitive column out closed the gap, in one plain sentence."""
    if blind_gap <= SAME_GAP and plain_gap > SAME_GAP:
        verdict = "closed the gap"
    elif blind_gap < plain_gap - SAME_GAP:
        verdict = "narrowed the gap but did not close it"
    elif blind_gap > plain_gap + SAME_GAP:
        verdict = "widened the gap"
    else:
        verdict = "did not close the gap"
    return (f"Leaving {column} out of the model {verdict}: {plain_gap:.1f} points with it, "
            f"{blind_gap:.1f} points without it.")


def explain(manifest: dict[str, Any], runs: dict[str, Run], labels: dict[str, str],
            quote: Callable[[str], str] = str) -> Walkthrough:
    """The walkthrough of finished runs (role -> run), every sentence from their numbers.
    `quote` escapes what the person typed (column names, groups) for where it is shown:
    Markdown on a page (`escape.md`), plain text in the CLI."""
    plain = runs["plain"]
    target = quote(manifest.get("target") or "the target column")
    column = manifest.get("sensitive") or ""
    sensitive = quote(column)
    positive = quote((manifest.get("class_names") or ["", "yes"])[-1])
    lines = [f"Trained as it is, the model agrees with '{target}' on "
             f"{percent(acc(plain))} of the test rows (rows it never saw while learning)."]
    headline_parts: list[str] = []
    if (run := runs.get("private")) is not None:
        eps = EPSILON.value(run.metrics)
        guarantee = (f"a privacy budget of ε = {eps:.1f} ({epsilon_meaning(eps)})"
                     if eps is not None else "a privacy guarantee")
        lines.append(f"With privacy noise the model gets {percent(acc(run))} right: the noise "
                     f"{_cost(runs, 'private')} and bought {guarantee}; no single row of your "
                     "table can be told from the finished model beyond that budget.")
        headline_parts.append(f"privacy noise {_cost(runs, 'private')}")
    plain_gap = _gap(plain)
    if column and plain_gap is not None:
        rates = _rates(plain)
        said = ", ".join(f"{percent(r)} of {quote(g)}" for g, r in rates.items())
        lines.append(f"By {sensitive}: trained as it is, the model says '{positive}' to "
                     f"{said}: a gap of {plain_gap:.1f} points between groups.")
    if (run := runs.get("fair")) is not None and (gap := _gap(run)) is not None:
        lines.append(f"With equal approval rates across groups (a decision threshold per "
                     f"group of {sensitive}), the gap becomes {gap:.1f} points; that "
                     f"{_cost(runs, 'fair')}. {LEGAL_CAUTION}")
        headline_parts.append(f"equal approval rates took the gap from {plain_gap:.1f} to "
                              f"{gap:.1f} points and {_cost(runs, 'fair')}")
    if (run := runs.get("blind")) is not None and (gap := _gap(run)) is not None \
            and plain_gap is not None:
        verdict = blind_verdict(plain_gap, gap, sensitive)
        lines.append(verdict + " Other columns can stand in for it (a neighbourhood, an "
                     "income), so a model that never sees it can still treat the groups "
                     f"differently. Without it the model gets {percent(acc(run))} right "
                     f"(leaving it out {_cost(runs, 'blind')}).")
        headline_parts.append(verdict[0].lower() + verdict[1:].split(":")[0])
    if (run := runs.get("smaller")) is not None:
        size, accuracy = deployed(run)
        big, _ = deployed(plain)
        lines.append(f"Made smaller (each weight stored in 8 bits instead of 32), the model "
                     f"takes {human_bytes(size, 'KB')} instead of {human_bytes(big, 'KB')} "
                     f"({size / big:.0%} of the size) and gets {percent(accuracy)} right "
                     f"({change(points(acc(plain), accuracy))}).")
        headline_parts.append(f"the 8-bit copy is {size / big:.0%} of the size")
    headline = ("On your data: " + "; ".join(headline_parts) + "."
                if headline_parts else f"On your data the model gets {percent(acc(plain))} "
                                       "right.")
    rows, chart_rows = [], []
    for role, run in runs.items():
        size, _ = deployed(run)
        row = {"run": labels.get(role, role), "test accuracy": percent(acc(run)),
               "size": human_bytes(size, "KB")}
        if column:
            gap = _gap(run)
            row["gap between groups"] = "—" if gap is None else f"{gap:.1f} pts"
        eps = EPSILON.value(run.metrics)
        row["privacy budget ε"] = "none" if eps is None else f"{eps:.1f}"
        rows.append(row)
        chart_rows.append({"run": labels.get(role, role), "accuracy": acc(run)})
    return Walkthrough(headline, lines, table(rows),
                       bars(chart_rows, "accuracy", "test accuracy"))


def walkthrough(store: Store, manifest: dict[str, Any], record: TradeoffRecord,
                quote: Callable[[str], str] = str) -> Walkthrough | None:
    """The walkthrough once every run has finished; None until then."""
    runs = record_runs(store, record)
    if story_state(runs) != "finished":
        return None
    return explain(manifest, StoryRuns(runs, store), record.labels,  # type: ignore[arg-type]
                   quote)


def as_story(manifest: dict[str, Any], record: TradeoffRecord,
             quote: Callable[[str], str] = str) -> Story:
    """The comparison as a story (its queued steps only, labels through `quote`), for the
    story views."""
    queued = tuple(Step(s.role, quote(s.label), s.values)
                   for s in steps(manifest) if s.role in record.runs)
    return Story(f"tradeoffs_{manifest['name']}", f"Trade-offs on {manifest['name']}",
                 "What would privacy, fairness and a smaller model cost on my data?",
                 "The same small model, as it is and with each trade-off switched on.", queued,
                 lambda story, runs, epochs: explain(manifest, runs, record.labels, quote))
