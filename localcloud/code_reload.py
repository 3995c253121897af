"""Which functions' handler code changed on disk since it was deployed, so that a served stack runs the new code.

While the program runs, :func:`archives_recorded` notes the handler package and handlers root of every archive
the Function block builds. :class:`CodeWatch` keeps, per function, that source and a fingerprint of its files
(name, modification time and size: a stat per file, no reading), and says which sources changed since; the
engine rebuilds those archives with the program's own builder and loads them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CodeSource", "CodeWatch", "archives_recorded", "fingerprint"]

_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(package: str, root: Path) -> Fingerprint:
    """Every file of ``root/package`` the archive would hold, with its modification time and size."""
    found: list[tuple[str, int, int]] = []
    base = root / package
    for path in base.rglob("*"):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRS for part in relative.parts) or path.suffix in _SKIPPED_SUFFIXES:
            continue
        with contextlib.suppress(OSError):  # a file removed while we look
            stat = path.stat()
            if path.is_file():
                found.append((relative.as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


@contextlib.contextmanager
def archives_recorded() -> Iterator[dict[str, tuple[str, Path]]]:
    """While active, every archive the Function block builds is recorded: its path → (package, handlers root)."""
    from serverless_patterns.blocks import function as block

    original = block.build_archive
    built: dict[str, tuple[str, Path]] = {}

    def recording(package: str, root: Path, out_dir: Path | None = None) -> Any:
        archive = original(package, root, out_dir)
        built[str(archive.path)] = (package, Path(root).resolve())
        return archive

    block.build_archive = recording  # type: ignore[assignment]
    try:
        yield built
    finally:
        block.build_archive = original


@dataclass
class CodeSource:
    """Where a function's code comes from, and what it was when last loaded."""

    package: str
    root: Path
    fingerprint: Fingerprint
    sha256_b64: str  # of the archive loaded (Lambda's CodeSha256)


@dataclass
class CodeWatch:
    """The source of each function's code (plain state, so it can be saved with the engine)."""

    sources: dict[str, CodeSource] = field(default_factory=dict)

    def watch(self, function: str, package: str, root: Path, sha256_b64: str) -> None:
        self.sources[function] = CodeSource(package, root, fingerprint(package, root), sha256_b64)

    def changed(self) -> dict[tuple[str, Path], list[str]]:
        """The sources whose files changed since they were loaded (each looked at once), with their functions."""
        current: dict[tuple[str, Path], Fingerprint] = {}
        changed: dict[tuple[str, Path], list[str]] = {}
        for function, source in sorted(self.sources.items()):
            key = (source.package, source.root)
            if key not in current:
                current[key] = fingerprint(source.package, source.root)
            if current[key] != source.fingerprint:
                changed.setdefault(key, []).append(function)
                source.fingerprint = current[key]
        return changed
