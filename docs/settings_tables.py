"""The README's argument tables, generated from the settings classes (the one place every default lives).

A table in README.md sits between ``<!-- settings: module.Class -->`` and ``<!-- /settings -->``.
``python docs/settings_tables.py`` rewrites every such table; ``tests/unit/test_readme_tables.py`` fails when one
is stale.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from serverless_patterns.internals.settings import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- settings: (?P<target>[\w.]+) -->\n)(?P<table>.*?)(<!-- /settings -->)", re.DOTALL)


def table_for(target: str) -> str:
    module, _, name = target.rpartition(".")
    return markdown_table(getattr(importlib.import_module(module), name)) + "\n"


def rendered(text: str) -> str:
    """``text`` with every marked table regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + table_for(m.group("target")) + m.group(4), text)


def targets(text: str) -> list[str]:
    return [m.group("target") for m in BLOCK.finditer(text)]


if __name__ == "__main__":
    README.write_text(rendered(README.read_text()))
    print(f"{len(targets(README.read_text()))} tables rendered in {README.name}", file=sys.stderr)
