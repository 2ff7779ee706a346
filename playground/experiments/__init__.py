"""Several runs with a purpose: sweeps, stories, workshops."""
