"""The presenter's controls: the lesson (fixed settings, locked or hidden controls), the
per-person limits and the leaderboard thresholds, the people in the room (rename, remove),
and the presenter key itself (on the presenter's own screen only, hidden with a click, never
in projector view). Saved only with the presenter key."""
from __future__ import annotations

import io
import zipfile

import streamlit as st

from components.base.keys import workshop as keys
from components.base.keys.workshop import KEY_SHOWN as SHOWN
from components.experiments.workshop_board import board_html, room_boards
from models.base import all_model_infos
from playground.common import escape
from playground.common.metric_registry import LOWER, limited_metrics
from playground.data.catalog import all_dataset_infos, dataset_info
from playground.experiments.links import controls
from playground.experiments.workshop import (
    Boards,
    Lesson,
    Limits,
    WorkshopError,
    Workspace,
    load_workspace,
    remove_person,
    rename_person,
    update_workspace,
)
from playground.results.export.report import html_report
from playground.results.export.tables import runs_frame
from playground.runs.store import Store

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
            bounds = {m.key: left.number_input(
                f"{m.label} board: {'at most' if m.better == LOWER else 'at least'}",
                min_value=0.0, value=ws.boards.limit(m), key=f"workshop_board_{m.key}",
                help=m.help)
                for m in limited_metrics()}
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
                    st.error(f"The model {escape.md(values['model'])} does not work on "
                             f"{escape.md(values['dataset'])} ({kind} data); pick another "
                             "model.")
                    return
            try:
                update_workspace(home, ws.name, key,
                                 lesson=Lesson(values, list(values), hide, note.strip()),
                                 limits=Limits(int(max_active), int(max_size)),
                                 boards=Boards(float(acc), bounds))
            except WorkshopError as exc:
                st.error("\n".join(escape.md(p) for p in exc.problems))
                return
            st.session_state[keys.FLASH] = (
                "Saved for everyone: their Train page follows the lesson from its next visit.")
            st.rerun()




def _set_shown(shown: bool) -> None:
    st.session_state[SHOWN] = shown


def presenter_key_box(key: str, join_link: str, projector: bool) -> None:
    """The presenter key, on this screen only: hidden until asked for (shown once right
    after opening), with a Hide button; never drawn while the projector view is on."""
    if projector:
        st.caption("🔑 Your presenter key is hidden while the projector view is on.")
        return
    if not st.session_state.get(SHOWN):
        st.button("Show my presenter key", key="workshop_key_show", icon="🔑",
                  on_click=_set_shown, args=(True,),
                  help="Only on this screen. Hide it again before you share your screen.")
        return
    with st.container(border=True):
        st.markdown("**Your presenter key** (keep it private: with it anyone can change the "
                    "lesson and manage everyone's runs)")
        st.code(key, language=None)
        st.caption(f"Your presenter link, to come back from another browser: {join_link}"
                   "&key=…  (add the key after key=)")
        st.button("Hide the key", key="workshop_key_hide", icon="🙈", on_click=_set_shown,
                  args=(False,))


def people_controls(home, store: Store, ws: Workspace, key: str) -> None:
    """Everyone who joined: rename one (their runs follow) or remove one, after a second
    click in a confirmation (their link stops working and their waiting runs are
    cancelled). Redrawn every few seconds, so people who join show without a reload."""

    @st.fragment(run_every=PEOPLE_POLL_SECONDS)
    def people() -> None:
        now = load_workspace(home, ws.name) or ws
        with st.expander(f"Presenter: people in this workshop ({len(now.people)})",
                         icon="👥"):
            if not now.people:
                st.caption("Nobody has joined yet. Share the join link above.")
                return
            for person in now.people:
                _person_row(home, store, now, key, person)

    people()


PEOPLE_POLL_SECONDS = 5.0


def _person_row(home, store: Store, ws: Workspace, key: str, person) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        new = st.text_input("Name", person.name, key=f"workshop_person_{person.id}",
                            max_chars=30, label_visibility="collapsed")
        rename = st.button("Rename", key=f"workshop_rename_{person.id}")
        with st.popover("Remove", key=f"workshop_remove_ask_{person.id}",
                        help="Asks first. Their personal link stops working; their runs "
                             "still waiting are cancelled; ended runs stay, marked."):
            st.markdown(f"Remove **{escape.md(person.name)}** from the workshop? Their "
                        "personal link stops working and their waiting runs are cancelled; "
                        "their ended runs stay on the boards, marked as removed.")
            remove = st.button(f"Yes, remove {escape.md(person.name)}", type="primary",
                               key=f"workshop_remove_{person.id}")
    try:
        if rename and new.strip() != person.name:
            rename_person(home, store, ws.name, key, person.id, new)
            st.session_state[keys.FLASH] = (
                f"Renamed {escape.md(person.name)} to {escape.md(' '.join(new.split()))}.")
            st.rerun()
        if remove:
            remove_person(home, store, ws.name, key, person.id)
            st.session_state[keys.FLASH] = f"Removed {escape.md(person.name)} from the workshop."
            st.rerun()
    except WorkshopError as exc:
        st.error(escape.md(exc.problems[0][0].upper() + exc.problems[0][1:] + "."))


# -- the end of the workshop -------------------------------------------------------------


def room_export(home, store: Store, ws: Workspace, key: str) -> bytes:
    """The room in one ZIP: a CSV of every run with its person and every metric, and the
    HTML report with the boards. Stands in for the core's end-of-workshop call, which also
    closes joining and queuing; the presenter key is checked the same way."""
    if not ws.is_presenter_key(key):
        raise WorkshopError("only the presenter can end the workshop: the presenter key "
                            "does not match")
    runs = store.list_runs(workspace=ws.name)
    frame = runs_frame(runs)
    if len(frame):
        frame.insert(0, "person", [r.owner or "" for r in runs])
    table = frame.map(escape.csv_cell).to_csv(index=False)
    _, boards = room_boards(ws)
    board_part = "<h2>Leaderboards</h2>" + "".join(
        f"<h3>{escape.html(b.title)}</h3>{board_html(b, 100)}" for b in boards)
    report = html_report(store, [r for r in runs if r.status == "finished"],
                         title=f"Workshop {ws.name}")
    report = report.replace("<h2>", board_part + "<h2>", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{ws.name}-runs.csv", table)
        z.writestr(f"{ws.name}-report.html", report)
    return buffer.getvalue()


def end_controls(home, store: Store, ws: Workspace, key: str) -> None:
    """"End workshop": asks first, then offers the room as one download."""
    ended = st.session_state.get(keys.ENDED)
    if ended is None:
        with st.popover("End workshop", icon="🏁", key="workshop_end_ask",
                        help="Asks first. Then one download of the room: every run with "
                             "its person and numbers (CSV) and the report with the boards."):
            st.markdown(f"End workshop **{escape.md(ws.name)}**? You get one download of the room: "
                        "a table of every run with names and numbers, and the report with "
                        "the leaderboards.")
            if st.button("Yes, end the workshop", type="primary", key="workshop_end"):
                try:
                    st.session_state[keys.ENDED] = room_export(home, store, ws, key)
                except WorkshopError as exc:
                    st.error(escape.md(exc.problems[0]))
                    return
                st.rerun()
        return
    st.success(f"Workshop {escape.md(ws.name)} ended. Download the room before you close "
               "this page.")
    st.download_button("Download the room (table and report)", ended,
                       file_name=f"{ws.name}-room.zip", mime="application/zip",
                       icon="📦", type="primary", key="workshop_end_download",
                       on_click="ignore")
