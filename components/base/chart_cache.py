"""Charts built once per data, kept per server, and re-sent as they are.

Turning an Altair chart into what the browser draws (Vega-Lite, data as Arrow) costs
tens of milliseconds; sending a ready one costs a fraction of one. A page that polls
every second, in every session of a room, would otherwise rebuild every chart on every
poll whether or not a new epoch arrived. Callers name a chart by what determines it (a
run id and its epoch count, say): the same name is built once for the whole server.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Hashable

import altair as alt
import pandas as pd
import streamlit as st
from streamlit import dataframe_util

# Streamlit's own conversion (theme and Arrow data exactly as st.altair_chart sends them);
# tests check that a cached chart reaches the browser exactly as st.altair_chart sends it.
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
from streamlit.util import calc_hash

Chart = alt.TopLevelMixin


@st.cache_resource(max_entries=1024, show_spinner=False)
def _spec(name: Hashable, _build: Callable[[], Chart | dict]) -> dict[str, Any]:
    chart = _build()
    return chart if isinstance(chart, dict) else _convert_altair_to_vega_lite_spec(chart)


@st.cache_resource(max_entries=64, show_spinner=False)
def _template(shape: Hashable, _build: Callable[[pd.DataFrame], Chart],
              _empty: pd.DataFrame) -> tuple[str, str]:
    spec = _convert_altair_to_vega_lite_spec(_build(_empty))
    (placeholder,) = spec.pop("datasets")
    return json.dumps(spec), placeholder


def with_data(shape: Hashable, build: Callable[[pd.DataFrame], Chart],
              frame: pd.DataFrame) -> dict[str, Any]:
    """The spec `build(frame)` would give, made from a template built once per `shape`
    (what the chart looks like) and `frame` turned into Arrow: a live chart whose data
    grows every epoch costs a fraction of a millisecond instead of Altair's tens.
    The dataset is named by its content hash, as Streamlit names it."""
    text, placeholder = _template(shape, build, frame.iloc[:0])
    data = dataframe_util.convert_anything_to_arrow_bytes(frame)
    name = calc_hash(data)
    spec = json.loads(text.replace(json.dumps(placeholder), json.dumps(name)))
    spec["datasets"] = {name: data}
    return spec


def spec_for(name: Hashable, build: Callable[[], Chart | dict]) -> dict[str, Any]:
    """The Vega-Lite spec of the chart called `name`, built by `build()` the first time
    (an Altair chart, or a spec from `with_data`)."""
    return _spec(name, build)


def cached_chart(name: Hashable, build: Callable[[], Chart | dict], **kwargs) -> None:
    """Draw the chart called `name` (st.vega_lite_chart's keyword arguments apply)."""
    spec = _spec(name, build)
    # Streamlit moves the datasets out of the dict it is given: hand it a copy.
    st.vega_lite_chart(spec=dict(spec, datasets=dict(spec.get("datasets") or {})), **kwargs)
