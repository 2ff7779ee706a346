"""Datasets: the built-in ones (shipped with scikit-learn or generated) and people's own uploads."""
