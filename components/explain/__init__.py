"""Streamlit pieces of the Explain page."""
