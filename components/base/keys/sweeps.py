"""The Sweeps page's session-state keys."""

SELECTED = "sweeps_selected"  # the sweep to open (set by Train when it starts one)
PICK = "sweeps_pick"  # the sweep picker's own key
