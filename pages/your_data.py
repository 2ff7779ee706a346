"""Your data: upload a CSV or a ZIP of pictures, see what was found, then train on it."""
import streamlit as st

from components.base.services import get_store
from components.data.drift_view import drift_section
from components.data.upload_form import upload_form, upload_preview
from components.data.upload_list import uploaded_list
from components.experiments.tradeoffs_view import row_button, save_buttons, tradeoffs_section
from components.experiments.workshop_session import session_actor
from components.shell.guard import app_shell_guard

app_shell_guard()

st.title("Your data")
st.write(
    "Try the playground on your own examples: a **CSV table** (one row per example, one "
    "column to predict) or a **ZIP of pictures** with one folder per class "
    "(`cats/001.png`, `dogs/001.png`, …). You see what was found and any problems before "
    "anything is saved; the file is only read, never run."
)

store = get_store()
actor = session_actor()  # in a workshop an upload is its uploader's (and the presenter's)
prepared = upload_form(store, actor)
if prepared is not None:
    upload_preview(prepared)
    save_buttons(prepared, store, actor)  # train at once, or try the trade-offs
tradeoffs_section(store, actor)  # the one-click comparison's walkthrough, live

st.subheader("Uploaded so far")
uploaded_list(store, actor, row_action=row_button(store, actor))
drift_section(store, actor)  # new rows against a finished run: has the data moved?
