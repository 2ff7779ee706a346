"""Explain page: agreement between methods and runs, each run's overall view, sanity check."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.keys.explain import SANITY
from components.explain.grid import REPLAN, Plan
from components.explain.pick import Row
from playground.explain import methods as M
from playground.explain.agreement import default_k, pairwise
from playground.explain.cache import GLOBAL_EXAMPLES
from playground.explain.charts import importance_bars_chart, importance_map_chart
from playground.explain.jobs import ExplainJobs
from playground.explain.sanity import judge

VERDICT_WORDS = {"passes": "passes", "partly": "partly passes", "fails": "fails"}


def _unit(data) -> str:
    return "pixel" if data.info.kind == "image" else "feature"


def agreement_section(runner: ExplainJobs, rows: list[Row], methods: list[str], data,
                      the_plan: Plan) -> None:
    unit = _unit(data)
    n = data.n_features
    st.subheader("Do they agree?")
    k = st.slider(f"How many top {unit}s to compare", 1, min(20, n), default_k(n),
                  key="explain_k")
    st.caption(f"Shared top {k}: how many of the {k} most important {unit}s both pick. "
               "ρ (Spearman's rank correlation) compares the whole order of importance: "
               "1 is the same order, 0 unrelated. Signs are ignored, so Saliency can join.")
    maps = {(i, m): runner.result(r) for (i, m), r in the_plan.cells.items() if r is not None}
    maps = {key: a.values for key, a in maps.items() if a is not None}

    any_pairs = False
    for i, row in enumerate(rows):
        named = {M.method(m).title: maps[(i, m)] for m in methods if (i, m) in maps}
        pairs = pairwise(named, unit, k)
        if not pairs:
            continue
        if not any_pairs:
            st.markdown("**Methods on the same run**")
            any_pairs = True
        prefix = f"Run {row.run.id}: " if len(rows) > 1 else ""
        ranked = sorted(pairs, key=lambda a: (a.overlap, a.rho), reverse=True)
        if len(ranked) == 1:
            st.markdown(f"- {prefix}{ranked[0].sentence}")
            continue
        st.markdown(f"- {prefix}most alike: {ranked[0].sentence}  \n"
                    f"least alike: {ranked[-1].sentence}")
        if len(ranked) > 2:
            with st.expander(f"All {len(pairs)} method pairs" + (f" for run {row.run.id}"
                                                                 if len(rows) > 1 else "")):
                _readings([{"compared": f"{a.left} vs {a.right}",
                            f"shared top {k}": f"{round(a.overlap * k)} of {k}", "ρ": a.rho,
                            "reading": a.sentence} for a in pairs], few=0)
    if not any_pairs and len(methods) > 1:
        st.caption("The method comparison appears when their maps are ready.")

    if len(rows) < 2:
        st.caption("Pick a second run to see whether a technique changed what the model "
                   "looks at.")
        return
    lines, summary = [], []
    for m in methods:
        named = {row.run.id: maps[(i, m)] for i, row in enumerate(rows) if (i, m) in maps}
        for a in pairwise(named, unit, k):
            title = M.method(m).title
            lines.append({"method": title, "compared": f"{a.left} vs {a.right}",
                          f"shared top {k}": f"{round(a.overlap * k)} of {k}", "ρ": a.rho,
                          "reading": a.sentence.replace(f"{a.left} and {a.right}",
                                                        f"By {title}, runs {a.left} and "
                                                        f"{a.right}", 1)})
            summary.append(a)
    if lines:
        st.markdown("**Did the technique change what the model looks at?**")
        for a, b in {(s.left, s.right) for s in summary}:
            pair = [s for s in summary if (s.left, s.right) == (a, b)]
            rho = sum(s.rho for s in pair) / len(pair)
            verdict = ("mostly the same" if rho >= 0.7 else "partly the same" if rho >= 0.4
                       else "different")
            st.markdown(f"- Runs **{a}** and **{b}** look at {verdict} {unit}s for this "
                        f"input (mean ρ {rho:.2f} over {len(pair)} method"
                        f"{'s' if len(pair) > 1 else ''}).")
        _readings(lines)


def _readings(lines: list[dict], few: int = 6) -> None:
    """A few readings as sentences; many as a table (numbers, then the sentence)."""
    if len(lines) <= few:
        for line in lines:
            st.markdown(f"- {line['reading']}")
        return
    st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch",
                 column_config={"ρ": st.column_config.NumberColumn(format="%.2f"),
                                "reading": st.column_config.TextColumn(width="large")})


def overall_section(runner: ExplainJobs, rows: list[Row], data, the_plan: Plan) -> None:
    st.subheader("What each run looks at overall")
    method_title = M.method(M.overall_method()).title
    st.caption(f"Mean size of the {method_title} values over {GLOBAL_EXAMPLES} "
               "test examples, each explained for the class its model chose: where the "
               "model looks in general, not just for this input.")
    cols = st.columns(max(len(rows), 4 if data.info.kind == "image" else 2))
    for i, (col, row) in enumerate(zip(cols, rows, strict=False)):
        with col:
            request = the_plan.overall[i]
            result = runner.result(request)
            if result is None:
                error = runner.error(request)
                st.caption(f"{row.run.id}: " + (f"could not compute: {error}" if error
                                                else "working on it…"))
                continue
            title = f"{row.run.id}" + (" (int8)" if row.variant == "int8" else "")
            image = data.info.kind == "image"
            cached_chart(("explain_overall", request.key, title),
                         partial(_overall_chart, result.values, title, data, image),
                         key=f"explain_overall_{i}", width="stretch",
                         height=230 if image else 280)


def _overall_chart(values, title: str, data, image: bool):
    if image:
        return importance_map_chart(values, title)
    return importance_bars_chart(values, data.feature_names, 10, title)


def _start_sanity() -> None:
    st.session_state[SANITY] = True
    st.session_state[REPLAN] = True


def sanity_section(runner: ExplainJobs, rows: list[Row], methods: list[str],
                   the_plan: Plan) -> None:
    st.subheader("Sanity check: do the maps depend on what the model learned?")
    st.caption("After Adebayo et al. (2018): give the same network random weights and "
               "explain the same input again. A trustworthy method draws a different map; "
               "a map that hardly changes shows the input, not the model. Checked on the "
               "float model, so every method can take part.")
    if not the_plan.sanity:
        st.button("Run the sanity check", key="explain_sanity_start", on_click=_start_sanity)
        return
    lines, waiting = [], 0
    for (i, method), (trained, randomised) in the_plan.sanity.items():
        a, b = runner.result(trained), runner.result(randomised)
        if a is None or b is None:
            waiting += 1
            continue
        result = judge(M.method(method).title, a.values, b.values)
        lines.append({"run": rows[i].run.id, "method": result.method, "similarity ρ": result.rho,
                      "verdict": result.verdict, "reading": result.sentence})
    if lines:
        frame = pd.DataFrame(lines)
        for method, group in frame.groupby("method", sort=False):
            counts = group["verdict"].value_counts()
            parts = [f"{VERDICT_WORDS[v]} on {counts[v]} run{'s' if counts[v] > 1 else ''}"
                     for v in VERDICT_WORDS if v in counts]
            low, high = group["similarity ρ"].min(), group["similarity ρ"].max()
            spread = f"ρ {low:.2f}" if len(group) == 1 else f"ρ {low:.2f} to {high:.2f}"
            st.markdown(f"- **{method}**: {', '.join(parts)} ({spread})")
        st.dataframe(frame, hide_index=True, width="stretch", height=36 * (len(frame) + 1) + 2,
                     column_config={"similarity ρ": st.column_config.NumberColumn(
                         format="%.2f", help="rank correlation of the trained and the "
                         "random-weights maps: low is good"),
                         "reading": st.column_config.TextColumn(width="large")})
    if waiting:
        st.caption(f"{waiting} comparison{'s' if waiting > 1 else ''} still being computed…")
