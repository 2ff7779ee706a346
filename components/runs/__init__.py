"""Streamlit pieces for runs: cards and the Runs page's lists."""
