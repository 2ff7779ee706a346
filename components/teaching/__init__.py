"""Streamlit pieces for the glossary and lessons."""
