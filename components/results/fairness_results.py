"""The fairness audit on a run's card: each group's accuracy, approval rate and error rates
(fairlearn's MetricFrame), and the two gaps in words."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.format import md_table
from playground.common import escape
from playground.common.formatting import percent, points
from playground.runs.store import Run
from playground.teaching.glossary import glossary_help
from playground.training.audits import fairness


def fairness_table(f: dict) -> pd.DataFrame:
    """One row per group: what the model decided for it on the test data."""
    positive = f.get("positive", "yes")
    rate = "Approval rate" if positive == "approved" else f"Share predicted “{positive}”"
    rows = {}
    for group, v in f["by_group"].items():
        row = {"People (test)": f"{v['count']:,}", "Accuracy": percent(v["accuracy"])}
        if "selection_rate" in v:
            row |= {rate: percent(v["selection_rate"]),
                    "True-positive rate": percent(v["true_positive_rate"]),
                    "False-positive rate": percent(v["false_positive_rate"])}
        rows[group] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def fairness_results(run: Run) -> None:
    f = fairness.report(run.metrics)
    if not f or not f.get("by_group"):
        return
    st.markdown(f"**Fairness by {escape.md(f['sensitive'])}** (test data)", help=glossary_help(
        "Measured with fairlearn's MetricFrame on the held-out test data. The true-positive "
        "rate is the share of those the past decisions approved whom the model approves; "
        "the false-positive rate, the share of those refused whom it approves.",
        "demographic_parity"))
    st.table(md_table(fairness_table(f)))
    dp, eo = f.get("demographic_parity_difference"), f.get("equalized_odds_difference")
    if dp is None:
        st.caption(escape.md(f.get("note", "")))
        return
    st.caption(f"Approval rates differ by up to **{points(dp)}** between groups (demographic-"
               f"parity difference; 0 is parity). True- or false-positive rates differ by up "
               f"to **{points(eo or 0)}** (equalized-odds difference; 0: the model errs alike "
               "for every group). Measured against past decisions, which may themselves be "
               "biased.")
