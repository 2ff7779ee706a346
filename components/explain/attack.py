"""Explain page: "Attack this example", an adversarial copy of the input beside the original.

The controls (off by default), the attacked copies (made in this server on first request,
then kept: see playground.explain.adversarial), the pictures or the changed values with
both answers in a sentence, and the row header of the attacked input's maps in the grid
(the maps themselves are asked of the workers with the other requests, by `grid.plan`).
"""
from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.keys.explain import ATTACK_KIND as KIND
from components.base.keys.explain import ATTACK_ON as ON
from components.base.keys.explain import ATTACK_STRENGTH as STRENGTH
from components.explain.pick import Row
from playground.common import escape
from playground.explain.adversarial import (
    ATTACK_WORDS,
    ATTACKS,
    DEFAULT_ATTACK,
    INT8_SENTENCE,
    POINTS_REASON,
    STRENGTHS,
    Adversarial,
    Attacker,
    can_attack,
    unit,
)
from playground.explain.cache import input_id
from playground.explain.jobs import ExplainJobs
from playground.runs.store import Run

CHANGED_SHOWN = 8  # table rows of changed features
DARKER, LIGHTER = "#7b3294", "#e08214"  # not the maps' red and blue: a change, no direction


@dataclass
class AttackChoice:
    attack: str  # pgd or fgsm
    strength: float


@dataclass
class Attacked:
    """A run's attacked copy of the input and the run's answers on it. Its maps explain
    the same class as the original's row, so the two rows compare like with like."""

    adversarial: Adversarial
    row: Row


@st.cache_resource(show_spinner=False)
def _attacker(home: str, runner_id: int, _runner: ExplainJobs) -> Attacker:
    # One per server and explainer: every session reads the examples it already made.
    return Attacker(_runner.bank)


def attack_controls(runs: list[Run], kind: str) -> AttackChoice | None:
    """The switch, and once on, the strength and the attack; None while off."""
    if not can_attack(kind):
        st.caption(f"No attack on this page for these runs: {POINTS_REASON}")
        return None
    moves = unit(kind)
    left, middle, right = st.columns([1.3, 2, 1.2], vertical_alignment="bottom")
    on = left.toggle(
        "Attack this example", key=ON,
        help="An attacker nudges the input, within a small budget, in the direction that "
             "hurts each chosen run most (an adversarial example). Its pictures or values, "
             "answers and explanations appear beside the original's.")
    if not on:
        return None
    default = min(max(float(runs[0].config.attack_strength), STRENGTHS[0]), STRENGTHS[1])
    strength = middle.slider(
        f"Strength: how far each {moves} may move", STRENGTHS[0], STRENGTHS[1], default, 0.01,
        key=STRENGTH, format="%.2f",
        help=f"Starts at run {runs[0].id}'s setting, the strength its robustness check used "
             "when it finished. " + ("Pixels run from 0 (white) to 1 (black)." if kind == "image"
                                     else "Features are in standard units: 1 is a typical "
                                          "spread."))
    attack = right.selectbox(
        "Attack", list(ATTACKS), index=list(ATTACKS).index(DEFAULT_ATTACK), key=KIND,
        format_func=ATTACKS.get, help=" · ".join(ATTACK_WORDS.values()))
    return AttackChoice(attack, float(strength))


def attack_rows(runner: ExplainJobs, rows: list[Row], x: np.ndarray,
                choice: AttackChoice) -> dict[int, Attacked]:
    """Each row's run attacked on `x` (made once per run, input, attack and strength, then
    read from the server's keeper), with that run's answers on the attacked copy."""
    attacker = _attacker(str(runner.store.home), id(runner), runner)
    out = {}
    with st.spinner("Attacking the example…"):
        for i, row in enumerate(rows):
            adversarial = attacker.attack(row.run.id, x, choice.attack, choice.strength)
            probs = runner.bank.predict(row.run.id, row.variant, adversarial.x[None])[0]
            out[i] = Attacked(adversarial, Row(row.run, row.variant, probs, row.target))
    return out


def _answer(names: list[str], row: Row) -> str:
    return f"{names[row.predicted]} ({row.probs[row.predicted]:.0%})"


def sentence(original: Row, attacked: Attacked, names: list[str], kind: str) -> str:
    """'Moved each pixel by at most 0.10 to fool the model: it now says 8 (71%) instead of
    3 (99%).'"""
    a, after = attacked.adversarial, attacked.row
    moved = f"Moved each {unit(kind)} by at most {a.strength:.2f} to fool the model"
    if after.predicted != original.predicted:
        return (f"{moved}: it now says **{_answer(names, after)}** instead of "
                f"{_answer(names, original)}.")
    now, before = (f"{r.probs[r.predicted]:.0%}" for r in (after, original))
    sure = f"about as sure as before ({now})" if now == before else \
        f"{now} sure instead of {before}"
    return f"{moved}, but it still says **{names[after.predicted]}**, {sure}."


def attack_section(rows: list[Row], attacked: dict[int, Attacked], data,
                   choice: AttackChoice) -> None:
    """Per run: the original and the attacked input (pictures with what changed, or a
    table of the values that moved most) and both answers in a sentence."""
    names, kind = data.class_names, data.info.kind
    each = (" Each run is attacked with its own gradients, so each gets its own attacked "
            "copy.") if len(rows) > 1 else ""
    st.caption(f"{ATTACK_WORDS[choice.attack]}; pushed away from the model's answer on the "
               f"original.{each}")
    for i, row in enumerate(rows):
        a = attacked[i]
        adv = a.adversarial
        head = f"**Run {row.run.id}** · {row.run.config.label()}: " if len(rows) > 1 else ""
        text = head + sentence(row, a, names, kind)
        notes = f"The biggest change is {adv.moved:.2f}."
        if kind == "image":
            notes = f"In what changed, purple pixels got darker and orange ones lighter. {notes}"
        if adv.through_float:
            notes = f"{INT8_SENTENCE} {notes}"
        if kind == "image":
            left, right = st.columns([3, 4], vertical_alignment="center")
            with left:
                cached_chart(("explain_attack_pictures", row.run.id, input_id(adv.original),
                              adv.attack, adv.strength),
                             lambda adv=adv: pictures_chart(adv.original, adv.x, adv.strength),
                             key=f"explain_attack_pictures_{i}", width="content")
            with right:
                st.markdown(text)
                st.caption(notes)
            continue
        st.markdown(text)
        st.caption(notes)
        changed = adv.changed_features(data.feature_names)
        frame = pd.DataFrame(changed[:CHANGED_SHOWN],
                             columns=["feature", "original", "attacked"])
        frame["change"] = frame["attacked"] - frame["original"]
        st.dataframe(frame, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%+.2f" if
                                                                     c == "change" else "%.2f")
                                    for c in ("original", "attacked", "change")})
        if len(changed) > CHANGED_SHOWN:
            st.caption(f"The {CHANGED_SHOWN} features that moved most, of {len(changed)} "
                       "that moved; values in standard units.")


def pictures_chart(original: np.ndarray, attacked: np.ndarray, strength: float,
                   size: int = 110) -> alt.HConcatChart:
    """The original, the attacked picture (one grey scale, 0 white to 1 black) and what
    changed (brighter in one colour, darker in the other)."""

    def grid(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        return values.mean(axis=0) if values.ndim == 3 else values

    def panel(values: np.ndarray, title: str, scale: alt.Scale, label: str) -> alt.Chart:
        g = grid(values)
        rows, cols = np.indices(g.shape)
        df = pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "value": g.ravel()})
        return alt.Chart(df, title=alt.Title(title, fontSize=12)).mark_rect().encode(
            x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None),
            color=alt.Color("value:Q", scale=scale, legend=None),
            tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O", title="column"),
                     alt.Tooltip("value:Q", title=label, format="+.2f" if "change" in label
                                 else ".2f")],
        ).properties(width=size, height=size * g.shape[0] / g.shape[1])

    greys = alt.Scale(domain=[0, 1], range=["#ffffff", "#000000"])
    change = alt.Scale(domain=[-strength, 0, strength], range=[LIGHTER, "#ffffff", DARKER])
    return alt.hconcat(
        panel(original, "original", greys, "pixel value"),
        panel(attacked, "attacked", greys, "pixel value"),
        panel(np.asarray(attacked) - np.asarray(original), "what changed", change,
              "change"),
        spacing=8,
    ).resolve_scale(color="independent").configure_view(strokeWidth=0)


def attacked_header(original: Row, attacked: Attacked, names: list[str],
                    true_class: int | None) -> None:
    """The first cell of the attacked input's row in the grid."""
    a, row = attacked.adversarial, attacked.row
    mark = "" if true_class is None else (" ✓" if row.predicted == true_class else " ✗")
    st.markdown(f"↳ **attacked** ({ATTACKS[a.attack]}, {a.strength:.2f})  \n"
                f"says **{escape.md(names[row.predicted])}**, "
                f"{row.probs[row.predicted]:.0%} sure{mark}")
    if row.target != row.predicted or original.target != original.predicted:
        st.caption(f"maps explain class {escape.md(names[row.target])}, as the row above")
