"""The presenter's controls: the lesson (fixed settings, locked or hidden controls), the
per-person limits and the leaderboard thresholds, the people in the room (rename, remove),
and the presenter key itself (on the presenter's own screen only, hidden with a click, never
in projector view). Saved only with the presenter key."""
from __future__ import annotations

import streamlit as st

from components.base.keys import workshop as keys
from components.base.keys.workshop import KEY_SHOWN as SHOWN
from components.experiments.workshop_board import setting_name
from models.base import all_model_infos, model_info
from playground.common import escape
from playground.common.metric_registry import LOWER, limited_metrics
from playground.common.permissions import Actor, Place, Refused, may
from playground.common.server_settings import mlflow_uris, run_minutes
from playground.data.catalog import all_dataset_infos, dataset_info
from playground.experiments.links import controls
from playground.experiments.room_export import export_room_mlflow, room_zip
from playground.experiments.workshop import (
    Boards,
    Lesson,
    Limits,
    WorkshopError,
    Workspace,
    end_workshop,
    honest_delta,
    list_workspaces,
    load_workspace,
    remove_person,
    rename_person,
    training_examples,
    update_workspace,
)
from playground.results.export import mlflow_export as mx
from playground.runs.cost import default_cost, describe
from playground.runs.store import Store
from playground.training.config import make_config
from playground.training.techniques.dp import delta_in_words

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
                                 else 0, format_func=lambda n: n if n == ANY else
                                 model_info(n).title)
            hide = st.multiselect("Hide these controls on Train", controls(),
                                  default=[h for h in lesson.hide if h in controls()],
                                  key="workshop_lesson_hide", format_func=setting_name)
            note = st.text_area("Instructions shown to everyone", lesson.note,
                                key="workshop_lesson_note", max_chars=500)
            limits = _limit_inputs(home, ws.limits)
            boards = _board_inputs(ws)
            saved = st.form_submit_button("Save for everyone", type="primary")
        if saved:
            values = {k: v for k, v in (("dataset", dataset), ("model", model)) if v != ANY}
            if "model" in values and "dataset" in values:
                kind = dataset_info(values["dataset"]).kind
                if kind not in model_info(values["model"]).kinds:
                    st.error(f"{model_info(values['model']).title} does not work on "
                             f"{escape.md(dataset_info(values['dataset']).title)} ({kind} "
                             "data); pick another model.")
                    return
            try:
                update_workspace(home, ws.name, key,
                                 lesson=Lesson(values, list(values), hide, note.strip()),
                                 limits=limits, boards=boards)
            except WorkshopError as exc:
                st.error("Nothing was saved: " + "; ".join(escape.md(p) for p in exc.problems)
                         + ".")
                return
            st.session_state[keys.FLASH] = (
                "Saved for everyone: their Train page follows the lesson from its next visit.")
            st.rerun()


def _limit_inputs(home, limits: Limits) -> Limits:
    """Each person's caps, in words; the time limit stays within the server's own."""
    st.markdown("**Limits for each person** (the time limit holds for your runs too)")
    left, right = st.columns(2)
    max_active = left.number_input(
        "Runs at once", 1, 50, limits.max_active, key="workshop_limit_active",
        help="Runs waiting plus training, per person.")
    max_size = right.number_input(
        "Run size: epochs × training examples, at most", 100, 10_000_000, limits.max_size,
        step=1000, key="workshop_limit_size",
        help="Digits have 1,078 training examples: 20 epochs is 21,560.")
    max_cost = left.number_input(
        "Largest run allowed, in times the default run", 0.5, 100_000.0,
        float(limits.max_cost), step=5.0, key="workshop_limit_cost",
        help=f"The default run is {describe(default_cost())}. A run's cost counts its "
             "model's work per example, its training examples and its epochs, so a big "
             "model on the same data costs many default runs.")
    server = run_minutes(home)
    max_minutes = right.number_input(
        f"Time limit per run, in minutes (this server allows up to {server:g})", 0.5,
        float(server), float(min(limits.max_minutes, server)), step=1.0,
        key="workshop_limit_minutes",
        help="A run still training after this ends as failed with \"time limit\"; what it "
             "learned until then (its curve) stays.")
    return Limits(int(max_active), int(max_size), float(max_cost), float(max_minutes))


DELTAS = (None, 1e-6, 1e-7, 1e-8, 1e-9)  # the presenter's δ choices (None: the data's own)


def delta_words(delta: float | None) -> str:
    if delta is None:
        return "The data's own (as below)"
    return f"At most 1 in {round(1 / delta):,} (δ = {delta:.0e})"


def own_delta_line(ws: Workspace) -> str:
    """The data's own δ in words: for the lesson's dataset, else for the default one."""
    name = ws.lesson.values.get("dataset") or make_config().dataset
    if name not in [d.name for d in all_dataset_infos()]:  # an upload: not read here
        return ("Each private run's δ comes from its own data: at most 1 in 100,000, lower "
                "on larger data.")
    kind = dataset_info(name).kind  # the count needs a config, and a config a model
    model = next(m.name for m in all_model_infos() if kind in m.kinds)
    n = training_examples(make_config(dataset=name, model=model))
    own = honest_delta(n)
    line = f"On {dataset_info(name).title}: {delta_in_words(own, n)}"
    if ws.boards.delta_max is not None and ws.boards.delta_max < own:
        line += f" This workshop uses your lower δ = {ws.boards.delta_max:.0e}."
    return line


def _board_inputs(ws: Workspace) -> Boards:
    """The boards' bounds and the room's δ."""
    st.markdown("**Leaderboards**")
    left, right = st.columns(2)
    bounds = {m.key: left.number_input(
        f"{m.label} board: {'at most' if m.better == LOWER else 'at least'}",
        min_value=0.0, value=ws.boards.limit(m), key=f"workshop_board_{m.key}", help=m.help)
        for m in limited_metrics()}
    acc = right.slider("Smallest and fastest boards: accuracy at least", 0.5, 1.0,
                       float(ws.boards.accuracy_min), 0.01, key="workshop_board_acc")
    choices = list(dict.fromkeys((*DELTAS, ws.boards.delta_max)))
    delta = st.selectbox(
        "Lower the chance the privacy promise fails (δ)", choices,
        index=choices.index(ws.boards.delta_max), key="workshop_board_delta",
        format_func=delta_words,
        help="Every private run in the workshop trains with this δ; nobody else chooses "
             "it. Lower is a stricter promise and costs a little more noise (ε grows).")
    st.caption(own_delta_line(ws))
    return Boards(float(acc), bounds, delta)


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


def end_controls(home, store: Store, ws: Workspace, key: str) -> None:
    """"End workshop": asks first, then closes joining and queuing (the core's end) and
    offers the room as one download, on every visit from then on."""
    if ws.ended is None:
        with st.popover("End workshop", icon="🏁", key="workshop_end_ask",
                        help="Asks first. Nobody joins or trains here after; then one "
                             "download of the room: every run with its person and numbers "
                             "(CSV) and the report with the boards."):
            st.markdown(f"End workshop **{escape.md(ws.name)}**? Nobody can join or train "
                        "in it afterwards; runs already waiting still finish. You get one "
                        "download of the room: a table of every run with names and numbers, "
                        "and the report with the leaderboards.")
            if st.button("Yes, end the workshop", type="primary", key="workshop_end"):
                try:
                    end_workshop(home, store, ws.name, key)
                except WorkshopError as exc:
                    st.error(escape.md(exc.problems[0]))
                    return
                st.rerun()
        return
    st.success(f"Workshop {escape.md(ws.name)} has ended: nobody joins or trains here any "
               "more. Download the room before you close this page.")
    st.download_button("Download the room (table and report)",
                       lambda: room_zip(store, load_workspace(home, ws.name) or ws),
                       file_name=f"workshop-{ws.name}-room.zip", mime="application/zip",
                       icon="📦", type="primary", key="workshop_end_download",
                       on_click="ignore")


# -- the whole workshop to MLflow ----------------------------------------------------------


def may_send_room(actor: Actor, ws: Workspace) -> str | None:
    """Why `actor` may not send workshop `ws` to MLflow (None: they may): its presenter may,
    and the operator; a participant or a visitor may not (the permission rule says so)."""
    if actor.in_workshop and actor.workspace != ws.name:
        return (f"You are in workshop {actor.workspace}: only the presenter of {ws.name} or "
                "the operator can send it to MLflow.")
    return may(actor, "mlflow", Place(actor.workspace, actor.name, actor.person))


def _where(store: Store, uri: str) -> str:
    if uri == mx.default_tracking_uri(store):
        return "This server's data folder (an MLflow database file)"
    return f"The tracking server {uri}"


def mlflow_controls(store: Store, actor: Actor, ws: Workspace | None = None) -> None:
    """"Send the whole workshop to MLflow": every finished run of the room, to the data
    folder's MLflow database or a tracking server the operator listed. Offered only to whom
    the permission rule allows (the presenter, the operator: with `ws` None, the operator
    picks a workshop); the export checks again, and its refusals are shown as they are."""
    names = list_workspaces(store.home) if ws is None else [ws.name]
    if not names or (ws is not None and may_send_room(actor, ws) is not None) or (
            ws is None and not actor.operator):
        return
    with st.expander("Send the whole workshop to MLflow", icon="📤"):
        st.caption("Every finished run of the workshop goes into one MLflow experiment named "
                   "after it, with its settings, curves, final numbers and model. Sending "
                   "again adds only what is new.")
        if ws is None:
            name = st.selectbox("Workshop", names, key="workshop_mlflow_room")
            ws = load_workspace(store.home, name)
        uris = [mx.default_tracking_uri(store), *mlflow_uris(store.home)]
        uri = st.selectbox("Send to", uris, key="workshop_mlflow_uri",
                           format_func=lambda u: _where(store, u),
                           help="Other tracking servers appear here once whoever runs this "
                                "server lists them (PLAYGROUND_MLFLOW_URIS).")
        if not st.button("Send the whole workshop to MLflow", key="workshop_mlflow_send",
                         icon="📤"):
            return
        if ws is None or (problem := may_send_room(actor, ws)) is not None:
            st.error(problem if ws is not None else "That workshop is gone from this server.")
            return
        try:
            with st.spinner("Sending every finished run to MLflow…"):
                results = export_room_mlflow(store, ws, uri, actor=actor)
        except Refused as exc:
            st.error(exc.problem)
            return
        except mx.ExportError as exc:
            st.error(f"Nothing was sent: {exc}")
            return
        st.success(mx.summary(results, uri))
