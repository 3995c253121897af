"""The shop's own helpers (every fixture project has a ``components`` package: runs must not mix them up)."""
