"""Streamlit pieces for datasets and uploads."""
