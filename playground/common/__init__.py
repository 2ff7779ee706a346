"""Leaf helpers every feature uses: the registry, paths in the data folder, the device."""
