"""Runs after they are asked for: the store (also the queue), the fair order, the workers and their
supervisor, the live feed pages poll.
"""
