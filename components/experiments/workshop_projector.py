"""The projector page's body: one leaderboard at a time in large type, cycling through the
boards, updating itself, with the join link and its QR code beside it."""
from __future__ import annotations

import time

import streamlit as st

from components.base.services import get_store
from components.experiments.join_link import join_url, qr_png
from components.experiments.workshop_board import board_html, left_out_line, room_boards
from playground.common import escape
from playground.experiments.workshop import load_workspace


def people(n: int) -> str:
    return f"{n} person" if n == 1 else f"{n} people"


def projector_view(ws_name: str, host: str | None, cycle: float, rows: int) -> None:
    """Redrawn every `cycle` seconds: the workshop read again, the boards with entries
    shown in turn (by the clock, so every projector shows the same one)."""

    @st.fragment(run_every=cycle)
    def boards() -> None:
        ws = load_workspace(get_store().home, ws_name)
        if ws is None:
            st.error(f"There is no workshop called {escape.md(repr(ws_name))} on this server "
                     "any more.")
            return
        dataset, all_boards = room_boards(ws)
        shown = [b for b in all_boards if b.entries] or all_boards[:1]
        main, side = st.columns([5, 1], gap="medium")
        with side:
            if ws.ended is not None:  # nobody joins any more: no link to offer
                st.html(f'<div class="pj-join">Workshop ended<br>{people(len(ws.people))} '
                        'took part</div>')
            else:
                url = join_url(ws.join_url(), host)
                if url.startswith("http"):
                    st.image(qr_png(url, 5), width=170)
                st.html(f'<div class="pj-join">Join: {escape.html(url)}<br>'
                        f'{people(len(ws.people))} in the room</div>')
        with main:
            if not shown:
                st.html(f'<p class="pj-title">{escape.html(ws.name)}</p>'
                        '<p class="pj-empty">No finished runs yet: the boards fill in as '
                        'runs finish.</p>')
                return
            i = int(time.time() // cycle) % len(shown)
            board = shown[i]
            note = left_out_line(board)
            st.html(f'<p class="pj-title">{escape.html(board.title)}</p>'
                    f'<p class="pj-sub">{escape.html(ws.name)} · {escape.html(dataset)} · '
                    f'board {i + 1} of {len(shown)}, next in {cycle:.0f} s</p>'
                    + board_html(board, rows)
                    + (f'<p class="pj-sub">{escape.html(note)}</p>' if note else ""))

    boards()
