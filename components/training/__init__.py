"""Streamlit pieces that set up a run: settings, technique switches, shareable links."""
