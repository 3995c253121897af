"""The one archive builder: a handler package plus the shared handler runtime, as a deterministic zip.

The same bytes serve the function block (``pulumi up``), the local cloud and the benchmarks. Deterministic means
sorted entries, fixed timestamps and permissions and no ``__pycache__``, so the archive hash changes only when the
code does and a redeploy without code changes updates nothing. The handler package comes from the project's
handlers root; the shared ``handler_runtime`` from this library (package data). Archives are written to a cache
folder outside the project and the library.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "RUNTIME_PACKAGE",
    "RUNTIME_ROOT",
    "HandlerArchive",
    "archive_bytes",
    "build_archive",
    "cache_dir",
    "default_handlers_root",
    "handler_problems",
]

#: The shared handler runtime ships inside this package (package data) and is copied into every archive from here.
RUNTIME_ROOT = Path(__file__).resolve().parent.parent / "lambda_root"
RUNTIME_PACKAGE = "handler_runtime"
_EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def default_handlers_root() -> Path:
    """``handlers/`` of the Pulumi project being run: Pulumi runs the program from the project's folder."""
    return Path.cwd() / "handlers"


def cache_dir() -> Path:
    """Where archives are written: ``$SERVERLESS_PATTERNS_CACHE``, else the user's cache folder — never next to
    the library (site-packages) nor inside the project."""
    explicit = os.environ.get("SERVERLESS_PATTERNS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "serverless-patterns" / "lambda"


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


def archive_bytes(package: str, root: Path) -> tuple[bytes, tuple[str, ...]]:
    """The zip of ``root/package`` and the shared ``handler_runtime`` (entries relative to their roots)."""
    problems = handler_problems(package, None, root)
    if problems:
        raise FileNotFoundError("; ".join(problems))
    files = _package_files(root, package)
    if package != RUNTIME_PACKAGE:
        files += _package_files(RUNTIME_ROOT, RUNTIME_PACKAGE)
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
def _built(package: str, root: Path, out_dir: Path, fingerprint: tuple[tuple[str, float, int], ...]) -> HandlerArchive:
    data, entries = archive_bytes(package, root)
    digest = hashlib.sha256(data).digest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{package}-{digest.hex()[:16]}.zip"
    if not path.exists():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return HandlerArchive(path=path, sha256_b64=base64.b64encode(digest).decode(), entries=entries)


def build_archive(package: str, root: Path, out_dir: Path | None = None) -> HandlerArchive:
    """Build and write the archive of ``root/package`` (plus the runtime) into ``out_dir`` (default:
    :func:`cache_dir`); the file name carries the content hash, and an unchanged package is not rebuilt."""
    root = root.resolve()
    files = _package_files(root, package) if (root / package).is_dir() else []
    fingerprint = tuple((name, path.stat().st_mtime, path.stat().st_size) for name, path in files)
    return _built(package, root, (out_dir or cache_dir()).resolve(), fingerprint)


def handler_problems(package: str, handler: str | None, root: Path) -> list[str]:
    """Why ``package`` + ``handler`` (``module.function`` inside the package) cannot be found, if it cannot."""
    problems: list[str] = []
    if not package or not (root / package).is_dir():
        problems.append(f"handler_package {package!r} is not a folder under {root}")
        return problems
    if not (root / package / "__init__.py").is_file():
        problems.append(f"handler_package {package!r} has no __init__.py (in {root / package})")
    if package == RUNTIME_PACKAGE and root.resolve() != RUNTIME_ROOT.resolve():
        problems.append(f"handler_package {package!r} is the shared runtime's name: choose another")
    if handler is None:
        return problems
    parts = handler.split(".") if handler else []
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        problems.append(f"handler {handler!r} must be 'module.function' inside the package")
        return problems
    module_path = root / package / Path(*parts[:-1])
    if not module_path.with_suffix(".py").is_file() and not (module_path / "__init__.py").is_file():
        problems.append(f"handler {handler!r}: no module {'/'.join(parts[:-1])}.py in {root / package}")
    return problems
