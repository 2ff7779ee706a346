"""Streamlit pieces for results: comparisons, Pareto views, narratives, exports."""
