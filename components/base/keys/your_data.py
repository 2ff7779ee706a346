"""The Your data page's session-state keys."""

FLASH = "your_data_flash"  # a message to show once after a rerun (a deletion's outcome)
TRADEOFFS = "your_data_tradeoffs"  # the upload whose one-click trade-offs the page shows
DIGESTS = "your_data_digests"  # uploaded file id -> its content's digest (hashed once)
JOBS = "your_data_check_jobs"  # a check's key -> the job this session queued for it
FAILED = "your_data_check_failed"  # a check's key -> why its job ended without a result
SAVED = "your_data_saved"  # digests of files this session saved -> the dataset name
