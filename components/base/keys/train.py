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
ALL_SETTINGS = "train_all_settings"  # the "All settings" toggle (off: simple mode)
LAST_VALUES = "train_last_values"  # the setup drawn last (kept when the view changes)
AUTOSTART = "train_autostart"  # another page asked Train to queue its preset at once
LESSON_APPLIED = "train_lesson_applied"  # (workshop, version) whose lesson the controls hold
UNLOCKED = "train_unlocked"  # the presenter or the local user unlocked a lesson's controls


def plain_level(technique: str) -> str:
    """Simple mode's one setting of a technique (its switch is train_tech_<name>)."""
    return f"train_plain_{technique}"


def technique_switch(technique: str) -> str:
    return f"train_tech_{technique}"
ALL_SETTINGS_KEPT = "train_all_settings_kept"  # the toggle's value, kept across pages
