"""The one archive builder: a handler package plus the shared handler runtime, as a deterministic zip.

The same bytes serve the function block (``pulumi up``), the local cloud and the benchmarks. Deterministic means
sorted entries, fixed timestamps and permissions and no ``__pycache__``, so the archive hash changes only when the
code does and a redeploy without code changes updates nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "BUILD_DIR",
    "HANDLERS_ROOT",
    "RUNTIME_PACKAGE",
    "HandlerArchive",
    "archive_bytes",
    "build_archive",
    "handler_problems",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLERS_ROOT = PROJECT_ROOT / "handlers"
BUILD_DIR = PROJECT_ROOT / ".build" / "lambda"
RUNTIME_PACKAGE = "handler_runtime"
_EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class HandlerArchive:
    """A built archive: where it is, its SHA-256 (base64, as Lambda's ``source_code_hash``) and its entries."""

    path: Path
    sha256_b64: str
    entries: tuple[str, ...]


def _package_files(root: Path, package: str) -> list[tuple[str, Path]]:
    base = root / package
    files: list[tuple[str, Path]] = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _EXCLUDED_DIRS for part in relative.parts) or path.suffix in _EXCLUDED_SUFFIXES:
            continue
        if path.is_file() and path.name != ".DS_Store":
            files.append((relative.as_posix(), path))
    return files


def archive_bytes(package: str, root: Path = HANDLERS_ROOT) -> tuple[bytes, tuple[str, ...]]:
    """The zip of ``root/package`` and the shared ``handler_runtime`` (entries relative to their roots)."""
    files = _package_files(root, package)
    if package != RUNTIME_PACKAGE:
        files += _package_files(HANDLERS_ROOT, RUNTIME_PACKAGE)
    files.sort()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue(), tuple(name for name, _ in files)


@lru_cache(maxsize=64)
def build_archive(package: str, root: Path = HANDLERS_ROOT, out_dir: Path = BUILD_DIR) -> HandlerArchive:
    """Build (once per process) and write the archive of ``package``; the file name carries the content hash."""
    data, entries = archive_bytes(package, root)
    digest = hashlib.sha256(data).digest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{package}-{digest.hex()[:16]}.zip"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return HandlerArchive(path=path, sha256_b64=base64.b64encode(digest).decode(), entries=entries)


def handler_problems(package: str, handler: str, root: Path = HANDLERS_ROOT) -> list[str]:
    """Why ``package`` + ``handler`` (``module.function`` inside the package) cannot be found, if it cannot."""
    problems: list[str] = []
    if not package or not (root / package).is_dir():
        problems.append(f"handler_package {package!r} is not a folder under handlers/")
        return problems
    if not (root / package / "__init__.py").is_file():
        problems.append(f"handler_package {package!r} has no __init__.py")
    parts = handler.split(".") if handler else []
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        problems.append(f"handler {handler!r} must be 'module.function' inside the package")
        return problems
    module_path = root / package / Path(*parts[:-1])
    if not module_path.with_suffix(".py").is_file() and not (module_path / "__init__.py").is_file():
        problems.append(f"handler {handler!r}: no module {'/'.join(parts[:-1])}.py in handlers/{package}")
    return problems
