"""`python -m playground ...`: the command line."""
