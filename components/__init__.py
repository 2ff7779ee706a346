"""Reusable Streamlit pieces. Pages compose these; the core never imports them."""
