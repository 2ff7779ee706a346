"""Trade-off Playground core: datasets, configs, training, the run store and workers.

This package never imports Streamlit: the app, the CLI, the workers and the tests all
use it the same way.
"""
