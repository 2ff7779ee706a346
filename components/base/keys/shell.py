"""The shell's session-state keys: which page a session is on and whether it just arrived."""

STARTED = "shell_started"  # app.py's navigation has run in this session
PAGE = "shell_page"  # the url path of the page the last run drew
ENTRY_PENDING = "shell_entry_pending"  # arrived on the page, arrival not yet taken in
PROJECTOR = "projector_on"  # projector view: larger type for a room
PROJECTOR_BOARD = "projector_board"  # which board the projector page shows now
