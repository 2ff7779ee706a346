"""The Compare page's session-state keys."""

RUNS = "compare_runs"  # the runs picked for comparison (the picker's own key)
LIMITS = "compare_limits"  # which limits "Which run to ship?" applies
LIMIT = "compare_limit_"  # + a metric's key: that limit's number
