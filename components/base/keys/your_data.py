"""The Your data page's session-state keys."""

FLASH = "your_data_flash"  # a message to show once after a rerun (a deletion's outcome)
