"""The Learn page's pieces: one card per technique with a "Try it" button, and the glossary
with an anchor per term (the targets of every control's help link)."""
from __future__ import annotations

import streamlit as st

from components.base.keys import learn as keys
from components.base.keys import train as train_keys
from playground.runs.store import Store
from playground.teaching import glossary
from playground.teaching import lessons as learn

TRAIN_PAGE = "pages/train.py"


def _open_train(values: dict) -> None:
    # The Train page applies this preset and pops it (the in-app preset convention).
    st.session_state[train_keys.PRESET] = learn.preset(values)
    st.switch_page(TRAIN_PAGE)


def lesson_card(entry: learn.Entry, store: Store) -> None:
    lesson = entry.lesson
    with st.container(border=True):
        st.subheader(entry.title, anchor=f"technique-{entry.name.replace('_', '-')}")
        st.markdown(f"**What it does.** {lesson.what}")
        st.markdown(f"**The trade-off.** {lesson.trade_off}")
        if lesson.used_when:
            st.markdown(f"**When a company uses it.** {lesson.used_when}")
        if entry.glossary_key:
            st.caption(f"In the glossary: [{glossary.term(entry.glossary_key).name}]"
                       f"(#{glossary.anchor(entry.glossary_key)})")
        pending = st.session_state.get(keys.PENDING)
        if st.button("Try it", key=f"learn_try_{entry.name}", icon="▶️",
                     help="Opens Train with a ready setup for this technique."):
            tried = learn.try_it(entry.name, store.list_runs(statuses=("finished",)))
            if tried.problem:
                st.warning(f"Not on this machine: {tried.problem}")
            elif not tried.note:
                _open_train(tried.values)
            else:
                pending = st.session_state[keys.PENDING] = (entry.name, tried)
        if pending and pending[0] == entry.name:
            st.info(pending[1].note)
            if st.button("Open Train with it", key=f"learn_open_{entry.name}", type="primary"):
                st.session_state.pop(keys.PENDING, None)
                _open_train(pending[1].values)
        elif lesson.compare_hint:
            st.caption(f"Then: {lesson.compare_hint}")


def glossary_section() -> None:
    st.header("Glossary", anchor="glossary")
    st.caption("Every word the playground uses. The help (?) of each control links here.")
    everything = glossary.terms()
    index = sorted(everything, key=lambda t: t.name.lower())
    st.markdown(" · ".join(f"[{t.name}](#{glossary.anchor(t.key)})" for t in index))
    for t in everything:
        st.subheader(t.name, anchor=glossary.anchor(t.key))
        st.markdown(f"{t.short} {t.more}".strip())
