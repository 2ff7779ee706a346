"""The Explain page's session-state keys."""

INDEX = "explain_index"  # the test example being explained
RUNS = "explain_runs"  # the runs picked (the picker's own key)
DATASET = "explain_dataset"  # the dataset whose runs are offered
FILTER = "explain_filter"  # which test examples to pick from
COHORT = "explain_cohort"  # a group of test examples sent from a run card: run, label, indices
COHORT_FILTER = "cohort"  # FILTER's value that shows only that group
FLOAT_FOR_GRADIENTS = "explain_float_for_gradients"  # int8 runs: explain their float twin
REPLAN = "explain_replan"  # the next run of the page plans its explanation jobs again
SANITY = "explain_sanity"  # the sanity check was asked for
ATTACK_ON = "explain_attack"  # show the example under attack
ATTACK_STRENGTH = "explain_attack_strength"
ATTACK_KIND = "explain_attack_kind"
