"""The other project's own helpers."""
