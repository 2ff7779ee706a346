"""Workshop: a presenter opens a named workspace, people join by link with a display name
(and get a personal link of their own), everyone trains and sees the shared leaderboards
and their place in the queue."""
import streamlit as st

from components.base.keys import train as train_keys
from components.base.keys import workshop as workshop_keys
from components.base.polling import end_polling, live_fragment
from components.base.services import any_active, get_store, live_snapshot
from components.experiments.join_link import join_box, page_url, pick_host
from components.experiments.workshop_board import leaderboard, lesson_in_words, my_runs
from components.experiments.workshop_presenter import (
    end_controls,
    mlflow_controls,
    people_controls,
    presenter_controls,
    presenter_key_box,
)
from components.experiments.workshop_session import (
    KEY,
    TOKEN,
    WS,
    adopt,
    adopt_presenter,
    current,
    leave,
    session_actor,
)
from components.shell.guard import app_shell_guard
from components.shell.projector import projector_on
from playground.common import escape
from playground.experiments.workshop import (
    WorkshopError,
    clean_display_name,
    clean_name,
    join_workspace,
    load_workspace,
    open_workspace,
)

app_shell_guard()
store = get_store()
home = store.home
ss, qp = st.session_state, st.query_params


def adopt_link() -> None:
    """A join link (?ws=NAME, optionally &name=... to join at once) sets the session; a
    personal link (&token=...) or a presenter link (&key=...) was already taken in by the
    sidebar (restore_identity), on whichever page it opened."""
    if "ws" in qp:
        try:
            name = clean_name(qp["ws"])
        except WorkshopError as exc:
            st.error(escape.md(exc.problems[0]))
            return
        if ss.get(WS) != name:
            leave(url=False)
            ss[WS] = name
    # (A presenter link's key was taken in, and taken out of the address, by the sidebar.)
    if "name" in qp:
        wanted = qp["name"]
        del qp["name"]  # a name is not an identity: the token is
        if ss.get(WS) and not current()[1]:
            join_as(ss[WS], wanted)


def join_as(ws_name: str, wanted: str) -> bool:
    """Join as `wanted`; say why not (a name taken, a bad name) and return False."""
    try:
        actor, token = join_workspace(home, ws_name, wanted)
    except WorkshopError as exc:
        ss[workshop_keys.JOIN_PROBLEM] = exc.problems[0][0].upper() + exc.problems[0][1:] + "."
        return False
    adopt(ws_name, token, actor.name)
    ss[workshop_keys.FLASH] = (f"Welcome, {escape.md(actor.name)}. This browser keeps your "
                               "seat; your personal link (below, on request) brings you back "
                               "from any other browser, so keep it private.")
    return True


def landing() -> None:
    st.write("A workshop puts a room on one server: everyone trains their own runs, the "
             "queue takes turns fairly, and a shared leaderboard shows who found the best "
             "trade-off.")
    join, create = st.columns(2, gap="large")
    with join.form("workshop_join_form"):
        st.subheader("Join a workshop")
        ws_name = st.text_input("Workshop name", key="workshop_join_ws",
                                help="The presenter's link has it after ?ws=")
        user = st.text_input("Your name", key="workshop_join_user", max_chars=30,
                             help="Shown next to your runs on the leaderboard.")
        if st.form_submit_button("Join", type="primary"):
            try:
                name, shown = clean_name(ws_name), clean_display_name(user)
            except WorkshopError as exc:
                st.error(escape.md(exc.problems[0]))
            else:
                if load_workspace(home, name) is None:
                    st.error(f"There is no workshop called {name!r} on this "
                             "server. Check the name, or open it yourself on the right.")
                else:
                    ss[WS] = name
                    join_as(name, shown)
                    st.rerun()
    with create.form("workshop_open_form"):
        st.subheader("Open a workshop (presenter)")
        ws_name = st.text_input("Workshop name", key="workshop_open_ws",
                                placeholder="friday-class")
        user = st.text_input("Your name", "Presenter", key="workshop_open_user",
                             max_chars=30)
        if st.form_submit_button("Open it"):
            try:
                clean_display_name(user)
                ws, key = open_workspace(home, ws_name, user)
            except WorkshopError as exc:
                st.error(escape.md(exc.problems[0]))
            else:
                leave()
                adopt_presenter(ws.name, key, ws.presenter_name)  # this browser keeps it
                ss[workshop_keys.KEY_SHOWN] = True  # once, on this screen only; hide it below
                ss[workshop_keys.FLASH] = (
                    f"Workshop **{ws.name}** is open. Your presenter key is below, on your "
                    "screen only: note it, then hide it before you share your screen.")
                st.rerun()
    mlflow_controls(store, session_actor())  # the operator's: any workshop on the server


def ask_name(ws_name: str) -> None:
    room = load_workspace(home, ws_name)
    if room is not None and room.ended is not None:
        st.info(f"Workshop **{ws_name}** has ended: it takes no new people. Its boards stay "
                "with the presenter; you can still train on your own from Train.")
        if st.button("Leave it", key="workshop_ended_leave"):
            leave()
            qp.clear()
            st.rerun()
        return
    with st.form("workshop_name_form"):
        st.subheader(f"Join workshop {escape.md(ws_name)}")
        user = st.text_input("Your name", key="workshop_name_input", max_chars=30,
                             help="Shown next to your runs on the leaderboard.")
        if st.form_submit_button("Join", type="primary"):
            if join_as(ws_name, user):
                st.rerun()
    if problem := ss.pop(workshop_keys.JOIN_PROBLEM, None):
        st.error(escape.md(problem))


def lesson_box(ws) -> None:
    lesson = ws.lesson
    if lesson.note:
        st.info(escape.md(lesson.note))
    if lesson.values or lesson.hide:
        st.markdown(lesson_in_words(lesson))
    preset = {"values": dict(lesson.values), "lock": list(lesson.lock),
              "hide": list(lesson.hide)}
    if ss.get(workshop_keys.LESSON_SEEN) != ws.version:
        ss[workshop_keys.LESSON_SEEN] = ws.version
        if lesson.values or lesson.hide:
            ss[train_keys.PRESET] = preset  # the next visit to Train follows the lesson
    if ws.ended is not None:
        return  # nothing more is trained here
    if st.button("Train a model for this workshop", type="primary", icon="🏋️",
                 key="workshop_to_train"):
        ss[train_keys.PRESET] = preset
        st.switch_page("pages/train.py")


adopt_link()
st.title("Workshop")
if flash := ss.pop(workshop_keys.FLASH, None):
    st.success(flash)

if not ss.get(WS):
    landing()
    st.stop()
ws = load_workspace(home, ss[WS])
if ws is None:
    st.error(f"There is no workshop called {ss[WS]!r} on this server. Check "
             "the link, or open a new workshop.")
    if st.button("Back", key="workshop_back"):
        leave()
        qp.clear()
        st.rerun()
    st.stop()
ws, me, presenter = current()
if ws is None:
    ask_name(ss[WS])
    st.stop()

qp["ws"] = ws.name  # the room; a token or key never stays in the address
st.markdown(f"### {escape.md(ws.name)} · you are **{escape.md(me)}**"
            + (" (presenter)" if presenter else ""))
if ws.ended is not None and not presenter:
    st.warning("The presenter has ended this workshop: nobody joins or trains here any more. "
               "The boards below stay as they ended; leave the workshop (at the bottom) to "
               "train on your own.", icon="🏁")
host = pick_host() if presenter and not projector_on() else None
if ws.ended is None:
    join_box(ws.join_url(), host, presenter=presenter)
if presenter:
    projector_url = f"{page_url()}/projector?ws={ws.name}" + (f"&via={host}" if host else "")
    st.link_button("Open the projector page", projector_url, icon="📽️",
                   help="The leaderboards alone, in large type, for the room's screen: "
                        "open it on the projector's window. It shows no key and no panels.")
if not presenter and ss.get(TOKEN) and not projector_on():
    if ss.get(workshop_keys.PERSONAL_SHOWN):
        with st.container(border=True):
            st.caption("Your personal link brings you back as yourself from any browser: "
                       "bookmark it. Anyone with it can act as you, so don't share it.")
            st.code(f"{page_url()}{ws.personal_url(ss[TOKEN])}", language=None)
            st.button("Hide my personal link", key="workshop_personal_hide",
                      on_click=ss.__setitem__, args=(workshop_keys.PERSONAL_SHOWN, False))
    else:
        st.button("Show my personal link", key="workshop_personal_show", icon="🔑",
                  on_click=ss.__setitem__, args=(workshop_keys.PERSONAL_SHOWN, True),
                  help="Only on this screen. This browser already keeps your seat; the "
                       "link is for another browser or device.")
lesson_box(ws)
if presenter:
    presenter_key_box(ss[KEY], f"{page_url()}{ws.join_url()}", projector=projector_on())
    if ws.ended is None:
        presenter_controls(home, ws, ss[KEY])
        people_controls(home, store, ws, ss[KEY])
        end_controls(home, store, ws, ss[KEY])
    else:  # what is left to do: download the room
        end_controls(home, store, ws, ss[KEY])
        people_controls(home, store, ws, ss[KEY])
    if not projector_on():
        mlflow_controls(store, session_actor(), ws)


busy = any_active()


# Always polls, so other people's runs appear while this page sits still: every 5 s while
# anything trains, every 15 s while the server is idle (from the shared snapshot; a poll
# that finds nothing new rebuilds nothing; boards change only when a run ends).
@live_fragment(True, every=5.0 if busy else 15.0)
def live_boards() -> None:
    if bool(live_snapshot().active) != busy:  # runs only, as `any_active` counts them
        end_polling()  # the room started or stopped training: poll at the other pace
    current_ws = load_workspace(home, ws.name) or ws
    st.subheader("Leaderboards")
    leaderboard(current_ws, me)
    st.subheader("Your runs")
    my_runs(current_ws, me)


live_boards()
st.divider()
if st.button("Leave this workshop", key="workshop_leave"):
    leave()
    qp.clear()
    st.rerun()
