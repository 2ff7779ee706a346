"""Stories: one-click guided experiments. Pick one; its runs train live, then a walkthrough
says what their numbers show."""
import streamlit as st

from components.base.keys import stories as story_keys
from components.base.services import get_store
from components.experiments.story_view import story_live
from components.experiments.workshop_session import current, pending, session_actor
from components.shell.guard import app_shell_guard
from playground.common import escape
from playground.common.permissions import Refused
from playground.experiments import stories as S
from playground.experiments.workshop import WorkshopError

app_shell_guard()
store = get_store()
ss, qp = st.session_state, st.query_params

st.title("Stories")
st.write("Each story is a small experiment with a question a company would ask. One click "
         "trains its runs in the background (well under a minute), then the page walks you "
         "through what the results show. Every number comes from the runs themselves.")

chosen = qp.get("story") if qp.get("story") in S.STORIES else ss.get(story_keys.OPEN)
keys = list(S.STORIES)
for row in range(0, len(keys), 3):
    for col, key in zip(st.columns(3), keys[row:row + 3], strict=False):
        story = S.STORIES[key]
        with col.container(border=True):
            st.markdown(f"**{story.title}**")
            st.caption(f"{story.question} · {len(story.steps)} runs")
            if st.button("Open" if key != chosen else "Open ✓", key=f"stories_open_{key}",
                         type="primary" if key == chosen else "secondary"):
                ss[story_keys.OPEN] = chosen = key

if chosen in S.STORIES:
    qp["story"] = chosen  # a link to this story
    story = S.STORIES[chosen]
    ws, me, presenter = current()
    workspace = ws.name if ws and me else None
    st.divider()
    st.header(story.title)
    st.markdown(f"*{story.question}*")
    st.write(story.intro)
    record = S.load_record(store.home, chosen, workspace)
    state = S.story_state(S.story_runs(store, record)) if record else None
    if (record is None or state == "broken") and (waiting := pending()):
        st.warning(f"You opened workshop **{escape.md(waiting)}** but have not joined it: "
                   "join it on the Workshop page first, so this story runs in the room.")
    elif record is None or state == "broken":
        if st.button("Run this story", type="primary", icon="▶️", key="stories_run"):
            try:
                record, _ = S.ensure_story(store, chosen, actor=session_actor())
                st.rerun()
            except (Refused, WorkshopError) as exc:
                st.error("This story can't run now:\n\n"
                         + "\n".join(f"- {escape.md(p)}" for p in exc.problems))
    if record is not None:
        if workspace:
            st.caption(f"Shared with everyone in workshop {escape.md(workspace)}.")
        story_live(store, chosen, record)
        if state == "finished" and (not workspace or presenter):
            if st.button("Run it again with another seed", key="stories_again",
                         help="New random starting points and splits: see how much of the "
                              "result is luck."):
                try:
                    S.ensure_story(store, chosen, actor=session_actor(), again=True)
                    st.rerun()
                except (Refused, WorkshopError) as exc:
                    st.error("\n".join(f"- {escape.md(p)}" for p in exc.problems))
else:
    st.info("Open a story above to start.")
