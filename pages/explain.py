"""Explain: one input, explained by several methods, for 1-4 runs side by side."""
import streamlit as st

from components.base.polling import end_polling, live_fragment
from components.base.services import get_store
from components.explain.attack import attack_controls, attack_rows, attack_section
from components.explain.counterfactual import counterfactual_section
from components.explain.grid import FLOAT_FOR_GRADIENTS, explanation_grid, plan, replan_if_asked
from components.explain.inputs import pick_input
from components.explain.insights import SANITY, agreement_section, overall_section, sanity_section
from components.explain.pick import (
    get_runner,
    loadable,
    make_rows,
    pick_methods,
    pick_runs,
    pick_target,
)
from components.explain.sentences import sentence_section
from components.shell.guard import app_shell_guard
from playground.explain import methods as M

app_shell_guard()

st.title("Explain a prediction")
st.caption("Why did a model give this answer? Pick runs, an example and some explanation "
           "methods: each row is a run, each column a method. Red marks what pushed the model "
           "towards its answer, blue what pushed it away (in sentences: green for, red "
           "against). Runs trained with different "
           "techniques side by side show whether, say, privacy noise changed what the model "
           "looks at. Every method explains the same number: the model's odds for the "
           "class on a log scale (log-odds: 0 is a coin toss, +5 about 150 to 1 for), which "
           "still moves when a model is 99.99% sure.")
store = get_store()
runner = get_runner()
runs = loadable(runner, pick_runs(store))
kind = runner.bank.loaded(runs[0].id).data.info.kind if runs else None
methods = pick_methods(kind) if runs else []
if runs and methods and kind == M.TEXT:  # sentences: words highlighted, a what-if box
    data = runner.bank.loaded(runs[0].id).data
    sentence_section(runner, runs, methods, pick_target(data.class_names))
elif runs and methods:
    st.subheader("Choose an example")
    choice = pick_input(runner, runs)
    data = runner.bank.loaded(runs[0].id).data
    target = pick_target(data.class_names)
    rows = make_rows(runner, runs, choice.x, target, choice.index)
    needing_gradients = [n for n in M.method_names(data.info.kind)
                         if M.method(n).needs_gradients]
    if needing_gradients and any(r.variant == "int8" for r in rows):
        st.toggle("Gradient methods on int8 runs: explain the run's float model instead",
                  key=FLOAT_FOR_GRADIENTS,
                  help=f"{M.titles(needing_gradients, last='and')} need gradients, which "
                       "int8 models do not have. The float model is the same run before "
                       "quantization.")
    attack = attack_controls(runs, data.info.kind)
    attacked = attack_rows(runner, rows, choice.x, attack) if attack else {}
    if attack:
        attack_section(rows, attacked, data, attack)
    the_plan = plan(runner, rows, methods, choice, bool(st.session_state.get(SANITY)),
                    attacked)
    waiting = not runner.progress(the_plan.all_requests).finished

    @live_fragment(waiting)
    def results() -> None:
        replan_if_asked()
        progress = runner.progress(the_plan.all_requests)
        if not progress.finished:
            now = (f" Now: {progress.running}." if progress.running else
                   " Waiting for a free worker (runs and explanations take turns).")
            st.progress(progress.done / max(1, progress.total),
                        text=f"Explaining in a background worker: {progress.done} of "
                             f"{progress.total} ready.{now}")
        st.subheader(f"Explanations of {choice.label}")
        explanation_grid(runner, rows, methods, choice, choice.shown(data), the_plan, attacked)
        agreement_section(runner, rows, methods, data, the_plan)
        overall_section(runner, rows, data, the_plan)
        sanity_section(runner, rows, methods, the_plan)
        if waiting and progress.finished:
            end_polling()  # all done: a full rerun switches the polling off

    results()
    counterfactual_section(runner, runs, choice)
