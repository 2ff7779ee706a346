"""What each switched-on technique bought and cost: each technique says it (its `result`
section, in its own file); this draws the sections, in the order of the loop."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.format import md_table
from playground.common.content import Section
from playground.runs.store import Run
from playground.training.techniques import all_techniques


def section(part: Section) -> None:
    if part.warning:
        st.warning(part.warning)
    if part.tiles:
        for col, tile in zip(st.columns(len(part.tiles)), part.tiles, strict=True):
            col.metric(tile.label, tile.value, help=tile.help or None)
    for line in part.lines:
        st.markdown(line)
    if part.table:
        st.table(md_table(pd.DataFrame(part.table)))
    if part.caption:
        st.caption(part.caption)
    for note in part.notes:
        st.info(note)


def technique_results(run: Run) -> None:
    for cls in all_techniques():
        if cls.name in run.config.techniques and (part := cls.result(run)) is not None:
            section(part)
