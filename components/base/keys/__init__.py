"""Session-state keys, one module per page or feature (`keys.train.PRESET`, ...).

They live at the bottom of the components so any page can hand something to another (Learn
and Your data preset Train) without importing it. Keys are named per page (`train_*`,
`your_data_*`): widget keys that only their own control reads stay beside that control.
"""
