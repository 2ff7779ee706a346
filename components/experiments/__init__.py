"""Streamlit pieces for sweeps, stories and workshops."""
