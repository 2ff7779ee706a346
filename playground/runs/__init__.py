"""Runs after they are asked for: the store (also the queue, split by concern: schema, claims,
a run's life, checked actions, jobs), whose turn it is, the workers and their supervisor, the
live feed pages poll.
"""
