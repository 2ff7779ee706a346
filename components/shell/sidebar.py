"""The sidebar every page shows: the device, the queue, the workshop, projector view."""
from __future__ import annotations

import os

import streamlit as st

from components.base.polling import SIDEBAR_POLL_SECONDS, end_polling, live_fragment
from components.base.services import any_active, live_snapshot
from components.experiments.workshop_session import restore_identity, workshop_badge
from components.shell.projector import projector_toggle
from playground.common import device as devices
from playground.runs.supervisor import RAY_ADDRESS_ENV

# Pages whose own live section shows the queue: the sidebar leaves it out there, rather
# than poll a second copy (every poll is a script run, ~7 ms of the server's CPU whatever
# it draws) or show a stale one.
QUEUE_SHOWN_ON = {"runs"}

# On a phone the sidebar covers the page: close it once a link in it was followed, as
# Streamlit's own page list does. One listener per browser tab (the script runs when the
# element first mounts); 768 px is where Streamlit lays the sidebar over the page.
_CLOSE_ON_PHONE_JS = """
export default function() {
  if (window.__playgroundSidebarCloser) return;
  window.__playgroundSidebarCloser = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebar"] a[href]');
    if (!link || window.innerWidth >= 768) return;
    window.setTimeout(() => {
      const close = document.querySelector(
        '[data-testid="stSidebarCollapseButton"] button[aria-expanded="true"]');
      if (close) close.click();
    }, 0);
  }, true);
}
"""
_close_on_phone = st.components.v2.component("playground.sidebar_closer", js=_CLOSE_ON_PHONE_JS)


def render_sidebar(page: str | None = None) -> None:
    restore_identity()  # before any page acts: a personal link or a reload is the same person
    active = any_active()

    drawing_page = {"now": True}

    @live_fragment(active, SIDEBAR_POLL_SECONDS)
    def queue_status() -> None:
        counts = live_snapshot(fresh=drawing_page["now"]).counts
        running, waiting = counts.get("running", 0), counts.get("queued", 0)
        st.caption("Queue")
        st.markdown(f"**{running}** training · **{waiting}** waiting")
        # Everything ended: a full rerun switches polling off. Only from the fragment's own
        # polls: during a full run the sidebar is drawn before the page, and a rerun there
        # would swallow the click that started this run (e.g. Train).
        if active and not (running or waiting) and not drawing_page["now"]:
            end_polling()

    with st.sidebar:
        st.caption("Trains on")
        ray = os.environ.get(RAY_ADDRESS_ENV)
        st.markdown(f"**{devices.describe('auto')}**" if not ray else
                    f"**a Ray cluster** ({'private, on this machine' if ray == 'local' else ray})",
                    help=None if not ray else "Runs and explanations are sent to Ray's "
                    "workers (PLAYGROUND_RAY_ADDRESS); this server only draws the pages.")
        if page not in QUEUE_SHOWN_ON:
            queue_status()
    drawing_page["now"] = False

    workshop_badge()
    projector_toggle()
    with st.sidebar:
        _close_on_phone(key="shell_sidebar_closer", height=0)
