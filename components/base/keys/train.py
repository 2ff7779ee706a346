"""The Train page's session-state keys."""

# {"values": {...}, "lock": [...], "hide": [...]} written by another page before it switches
# to Train (components.training.url_presets applies it).
PRESET = "train_preset"
CLONE_OF = "train_clone_of"  # the run id a "clone" button came from
LAST_RUN = "train_last_run"  # (run id, label) of the run this session last queued
URL_WRITTEN = "train_url_written"  # the query this page last wrote (to tell a new link apart)
URL_RULES = "train_url_rules"  # {"lock": [...], "hide": [...], "fixed": {...}}
URL_PROBLEMS = "train_url_problems"
# Controls whose values other code reads or resets
DATASET = "train_dataset"
DEVICE = "train_device"
EPOCHS = "train_epochs"
SENSITIVE = "train_sensitive"
CLASSES = "train_classes"
IMBALANCE = "train_imbalance"
RARE_CLASSES = "train_rare_classes"
LAST_SWEEP = "train_last_sweep"  # (sweep id, title, ...) of the sweep this session started
