"""The Compare page's session-state keys."""

RUNS = "compare_runs"  # the runs picked for comparison (the picker's own key)
