"""Learn: each technique in plain words with a ready setup to try, then the glossary."""
import streamlit as st

from components.base.services import get_store
from components.shell.guard import app_shell_guard
from components.teaching.glossary_learn import glossary_section, lesson_card
from playground.teaching import lessons as learn

app_shell_guard()

st.title("Learn")
st.write(
    "Each switch on the Train page is a technique real companies use, and each one buys "
    "something at a price. Here is what they do, the trade-off each one shows, and when a "
    "company reaches for it. **Try it** opens Train with a setup that shows the effect; "
    "words you don't know are in the [glossary](#glossary) below."
)

store = get_store()
for entry in learn.entries():
    lesson_card(entry, store)

glossary_section()
