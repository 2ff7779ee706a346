"""The Stories page's session-state keys."""

OPEN = "stories_open"  # the story this session has open
