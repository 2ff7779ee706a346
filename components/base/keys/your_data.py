"""The Your data page's session-state keys."""

FLASH = "your_data_flash"  # a message to show once after a rerun (a deletion's outcome)
TRADEOFFS = "your_data_tradeoffs"  # the upload whose one-click trade-offs the page shows
