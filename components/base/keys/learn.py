"""The Learn page's session-state keys."""

PENDING = "learn_pending"  # (glossary entry, settings tried) while its run is on its way
