"""Home: the first visit needs no decisions. A story trains live and then explains itself;
the next steps are one click away."""
import streamlit as st

from components.shared import app_shell_guard, get_store
from components.story_view import story_live
from playground import stories as S

app_shell_guard()
store = get_store()
story = S.STORIES[S.DEFAULT_STORY]

st.title("Trade-off Playground")
st.write("Every choice in machine learning buys something and costs something. Here you "
         "train real models and see the price of each choice in numbers. Nothing to set up: "
         "the experiment below is already running.")

# Queued once per server, not per visitor: a room of people opening this page shares it.
record, _ = S.ensure_story(store, S.DEFAULT_STORY)
st.header(story.title)
st.markdown(f"*{story.question}*")
st.write(story.intro)
story_live(store, S.DEFAULT_STORY, record,
           ensure=lambda: S.ensure_story(store, S.DEFAULT_STORY)[0])

st.subheader("What next?")
cols = st.columns(4)
with cols[0].container(border=True):
    st.markdown("**Train your own**")
    st.caption("Pick data, a model and switches like privacy noise or quantization.")
    st.page_link("pages/train.py", label="Train", icon="🏋️")
with cols[1].container(border=True):
    st.markdown("**More stories**")
    st.caption("Shrinking a model for a phone, teachers and students, scarce data, "
               "overfitting.")
    st.page_link("pages/stories.py", label="Stories", icon="📚")
with cols[2].container(border=True):
    st.markdown("**Learn the words**")
    st.caption("What each technique does, when a company uses it, and a glossary.")
    st.page_link("pages/learn.py", label="Learn", icon="📖")
with cols[3].container(border=True):
    st.markdown("**Run a workshop**")
    st.caption("Put a room on one server with a shared leaderboard.")
    st.page_link("pages/workshop.py", label="Workshop", icon="🏆")
