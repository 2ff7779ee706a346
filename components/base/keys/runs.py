"""The Runs page's session-state keys."""

PAGE = "runs_page"  # which page of the run list is shown
LIVE_IDS = "runs_live_ids"  # the active runs this session's live list drew last
REFUSED = "runs_refused"  # a refusal to show at the top of the next run of the page
SHOW = "runs_scope"  # mine / stories / everyone (everything, outside workshops)
DATASET = "runs_dataset"  # one dataset's runs, or all
