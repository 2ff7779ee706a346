"""What the two attacks found on a finished run: the privacy attacker and the small
deliberate change, with ε's promise drawn against the attack for a private run."""
from __future__ import annotations

import streamlit as st

from components.base.chart_cache import cached_chart
from playground.common.formatting import percent
from playground.results import tradeoff_charts
from playground.runs.store import Run
from playground.training.audits import OFF_NOTE, membership, robustness


def attack_results(run: Run) -> None:
    pa, rob = membership.report(run.metrics), robustness.report(run.metrics)
    if run.metrics.get("audits") == "off":
        st.caption(OFF_NOTE)
    if not pa and not rob:
        return
    tiles = []
    if pa:
        tiles.append(("Privacy attacker right", percent(0.5 + pa["advantage"] / 2),
                      "How often an attacker holding the model guessed correctly whether a "
                      "record was in its training data (the same number of both). 50 % is a "
                      f"coin toss. AUC {pa['auc']:.2f}; {pa['attack']}."))
    if rob:
        tiles.append((f"Right under attack (PGD {rob['strength']:g})",
                      percent(rob["pgd"]["accuracy"]),
                      f"Test examples still right after each {rob.get('moves', 'pixel')} was "
                      f"moved by at most {rob['strength']:g} to fool the model ({rob['attack']};"
                      f" FGSM: {percent(rob['fgsm']['accuracy'])}, untouched: "
                      f"{percent(rob['clean_accuracy'])}). {rob.get('note', '')}"))
    for col, (label, value, why) in zip(st.columns(len(tiles)), tiles, strict=True):
        col.metric(label, value, help=why)
    bound = (pa or {}).get("dp_bound")
    if bound:
        with st.expander("ε's promise against a real attacker"):
            cached_chart(("membership_roc", run.id),
                         lambda: tradeoff_charts.privacy_attack_chart(
                             pa["roc"], *membership.promised(bound)), width="stretch")
            st.caption("Differential privacy promises that no attack, however clever, gets "
                       "above the dashed ceiling. The solid line is what a real attack "
                       "managed: the gap between them is how cautious the promise is.")
