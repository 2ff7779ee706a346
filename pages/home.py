"""Home: the first visit needs no decisions. A story trains live and then explains itself;
the next steps are one click away."""
import streamlit as st

from components.base.services import get_store
from components.experiments.story_view import story_live
from components.shell.guard import app_shell_guard
from playground.experiments import stories as S

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
NEXT_STEPS = (
    ("Train your own", "Pick data, a model and switches like privacy noise or quantization.",
     "pages/train.py", "Train", "🏋️"),
    ("More stories", "Shrinking a model for a phone, teachers and students, scarce data, "
     "overfitting.", "pages/stories.py", "Stories", "📚"),
    ("Learn the words", "What each technique does, when a company uses it, and a glossary.",
     "pages/learn.py", "Learn", "📖"),
    ("Run a workshop", "Put a room on one server with a shared leaderboard.",
     "pages/workshop.py", "Workshop", "🏆"),
)
for col, (heading, blurb, page, label, icon) in zip(st.columns(len(NEXT_STEPS)), NEXT_STEPS,
                                                    strict=True):
    with col.container(border=True):
        st.markdown(f"**{heading}**")
        st.caption(blurb)
        st.page_link(page, label=label, icon=icon)
