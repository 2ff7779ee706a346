"""The presenter's controls: the lesson (fixed settings, locked or hidden controls), the
per-person limits and the leaderboard thresholds. Saved only with the presenter key."""
from __future__ import annotations

import streamlit as st

from models.base import all_model_infos
from playground.data.catalog import all_dataset_infos, dataset_info
from playground.experiments.links import controls
from playground.experiments.workshop import (
    Boards,
    Lesson,
    Limits,
    WorkshopError,
    Workspace,
    update_workspace,
)

ANY = "(everyone chooses)"


def presenter_controls(home, ws: Workspace, key: str) -> None:
    lesson = ws.lesson
    with st.expander("Presenter: set the lesson, limits and boards", icon="🎓"):
        with st.form("workshop_lesson_form", border=False):
            datasets = [ANY] + [d.name for d in all_dataset_infos()]
            fixed_ds = lesson.values.get("dataset", ANY)
            dataset = st.selectbox(
                "Everyone uses the dataset", datasets, key="workshop_lesson_dataset",
                index=datasets.index(fixed_ds) if fixed_ds in datasets else 0,
                format_func=lambda n: n if n == ANY else dataset_info(n).title)
            models = [ANY] + [m.name for m in all_model_infos()]
            fixed_model = lesson.values.get("model", ANY)
            model = st.selectbox("… and the model", models, key="workshop_lesson_model",
                                 index=models.index(fixed_model) if fixed_model in models
                                 else 0)
            hide = st.multiselect("Hide these controls on Train", controls(),
                                  default=[h for h in lesson.hide if h in controls()],
                                  key="workshop_lesson_hide")
            note = st.text_area("Instructions shown to everyone", lesson.note,
                                key="workshop_lesson_note", max_chars=500)
            left, right = st.columns(2)
            max_active = left.number_input(
                "Runs per person at once", 1, 50, ws.limits.max_active,
                key="workshop_limit_active", help="Waiting plus training.")
            max_size = right.number_input(
                "Largest run (epochs × training examples)", 100, 10_000_000,
                ws.limits.max_size, step=1000, key="workshop_limit_size",
                help="Digits have 1,078 training examples: 20 epochs is 21,560.")
            eps = left.number_input("Privacy board: ε at most", 0.1, 100.0,
                                    float(ws.boards.epsilon_max), key="workshop_board_eps")
            acc = right.slider("Smallest and fastest boards: accuracy at least", 0.5, 1.0,
                               float(ws.boards.accuracy_min), 0.01,
                               key="workshop_board_acc")
            saved = st.form_submit_button("Save for everyone", type="primary")
        if saved:
            values = {k: v for k, v in (("dataset", dataset), ("model", model)) if v != ANY}
            if "model" in values and "dataset" in values:
                kind = dataset_info(values["dataset"]).kind
                if kind not in next(m for m in all_model_infos()
                                    if m.name == values["model"]).kinds:
                    st.error(f"The model {values['model']} does not work on "
                             f"{values['dataset']} ({kind} data); pick another model.")
                    return
            try:
                update_workspace(home, ws.name, key,
                                 lesson=Lesson(values, list(values), hide, note.strip()),
                                 limits=Limits(int(max_active), int(max_size)),
                                 boards=Boards(float(eps), float(acc)))
            except WorkshopError as exc:
                st.error("\n".join(exc.problems))
                return
            st.session_state["workshop_flash"] = (
                "Saved for everyone: their Train page follows the lesson from its next visit.")
            st.rerun()
