"""Fairness: does the model treat one group worse than another?

Measured with fairlearn on the test split, group by group of the run's sensitive attribute
(`Dataset.groups`): a MetricFrame of accuracy, selection rate, true- and false-positive
rates and the group's size, and fairlearn's demographic-parity and equalized-odds
differences. A "positive" decision is the second class (loans: "approved"; an uploaded
table: the second of its sorted labels). With more than two classes there is no single yes
or no to count, so only accuracy per group is reported and the two differences are None.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from playground.common.metric_registry import AUDIT, LOWER, Metric, declare

LIBRARY = "fairlearn MetricFrame"
# The run's metrics hold this audit's report here (older than the technique of that name).
STORED_UNDER = "fairness"


def report(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """This audit's report in a run's metrics (None: the data had no sensitive attribute)."""
    return (metrics or {}).get(STORED_UNDER) or None


DP_DIFFERENCE, EO_DIFFERENCE = declare(
    "fairness audit",
    Metric("dp_difference", "Unfairness: demographic-parity difference", better=LOWER,
           fmt=".3f", pareto="cost", short="parity gap",
           read=lambda m: report(m)["demographic_parity_difference"],
           help="The largest gap in approval rates between two groups of the sensitive "
                "attribute: 0 is parity. Runs without a sensitive attribute are left out."),
    Metric("eo_difference", "Unfairness: equalized-odds difference", better=LOWER, fmt=".3f",
           short="odds gap", read=lambda m: report(m)["equalized_odds_difference"],
           help="The largest gap between groups in how often the model errs: 0 is alike."),
    section=AUDIT, module=__name__)


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def measure(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray,
            class_names: list[str]) -> dict[str, Any]:
    """Per-group numbers and the two differences for these predictions."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    binary = len(class_names) == 2
    metrics = {"accuracy": accuracy_score, "count": count}
    if binary:
        metrics |= {"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                    "false_positive_rate": false_positive_rate}
    groups = np.asarray(groups).astype(str)
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred,
                        sensitive_features=groups)
    by_group = {str(g): {k: (int(v) if k == "count" else _number(v)) for k, v in row.items()}
                for g, row in frame.by_group.to_dict(orient="index").items()}
    result: dict[str, Any] = {
        "by_group": by_group,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "demographic_parity_difference": None, "equalized_odds_difference": None,
    }
    if binary:
        result["positive"] = class_names[1]
        result["demographic_parity_difference"] = float(demographic_parity_difference(
            y_true, y_pred, sensitive_features=groups))
        result["equalized_odds_difference"] = _number(equalized_odds_difference(
            y_true, y_pred, sensitive_features=groups))
    else:
        result["note"] = ("With more than two classes there is no single yes-or-no decision "
                          "to count, so only accuracy is compared group by group.")
    return result


def audit(data, y_pred: np.ndarray, plain_pred: np.ndarray | None = None,
          mitigation: str | None = None) -> dict[str, Any]:
    """metrics["fairness"] for the run's final test predictions; with a mitigation, also
    what the model's own decisions (`plain_pred`) scored before it (`before_mitigation`)."""
    test_groups = data.groups[2]
    result = {"sensitive": data.sensitive, "library": LIBRARY, "split": "test",
              **measure(data.y_test, y_pred, test_groups, data.class_names)}
    if mitigation is not None and plain_pred is not None:
        before = measure(data.y_test, plain_pred, test_groups, data.class_names)
        result["mitigation"] = mitigation
        result["before_mitigation"] = {
            k: before[k] for k in ("accuracy", "demographic_parity_difference",
                                   "equalized_odds_difference", "by_group")}
    return result
