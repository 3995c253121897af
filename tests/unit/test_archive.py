"""The archive builder: deterministic, complete, and free of build debris."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pulumi_helpers import FIXTURE_HANDLERS

from serverless_patterns.internals.archive import archive_bytes, build_archive, cache_dir, handler_problems

ROOT = Path(FIXTURE_HANDLERS)


def test_archive_holds_the_package_and_the_shared_runtime():
    _, entries = archive_bytes("sample", ROOT)
    assert "sample/__init__.py" in entries
    assert "sample/app.py" in entries
    assert "handler_runtime/__init__.py" in entries
    assert list(entries) == sorted(entries)


def test_archive_is_deterministic_and_skips_pycache(tmp_path: Path):
    root = tmp_path / "handlers"
    package = root / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("X = 1\n")
    first, _ = archive_bytes("pkg", root)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    (package / "stale.pyc").write_bytes(b"junk")
    second, entries = archive_bytes("pkg", root)
    assert first == second
    assert not [e for e in entries if "pycache" in e or e.endswith(".pyc")]
    with zipfile.ZipFile(io.BytesIO(second)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    (package / "mod.py").write_text("X = 2\n")
    third, _ = archive_bytes("pkg", root)
    assert third != first


def test_build_archive_writes_a_content_addressed_file(tmp_path: Path):
    built = build_archive("sample", ROOT, tmp_path)
    assert built.path.parent == tmp_path
    assert built.path.name.startswith("sample-")
    with zipfile.ZipFile(built.path) as z:
        assert sorted(z.namelist()) == list(built.entries)
    assert build_archive("sample", ROOT, tmp_path) == built


def test_handler_problems():
    assert handler_problems("sample", "app.handler", ROOT) == []
    assert handler_problems("sample", "handler", ROOT) == [
        "handler 'handler' must be 'module.function' inside the package"
    ]
    assert handler_problems("sample", "nope.handler", ROOT) == [
        f"handler 'nope.handler': no module nope.py in {ROOT / 'sample'}"
    ]
    assert handler_problems("ghost", "app.handler", ROOT) == [f"handler_package 'ghost' is not a folder under {ROOT}"]


def test_a_missing_package_is_a_clear_error_not_an_archive_of_the_runtime_alone(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"handler_package 'ghost' is not a folder under .*handlers"):
        build_archive("ghost", ROOT, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_handler_package_may_not_shadow_the_shared_runtime(tmp_path: Path):
    (tmp_path / "handler_runtime").mkdir()
    (tmp_path / "handler_runtime" / "__init__.py").write_text("")
    assert handler_problems("handler_runtime", "x.y", tmp_path) == [
        "handler_package 'handler_runtime' is the shared runtime's name: choose another",
        f"handler 'x.y': no module x.py in {tmp_path / 'handler_runtime'}",
    ]


def test_archives_go_to_the_cache_folder_never_next_to_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SERVERLESS_PATTERNS_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    built = build_archive("sample", ROOT)
    assert built.path.parent == (tmp_path / "cache").resolve()
    monkeypatch.delenv("SERVERLESS_PATTERNS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "serverless-patterns" / "lambda"


def test_an_edited_handler_is_rebuilt_in_the_same_process(tmp_path: Path):
    root = tmp_path / "handlers"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    first = build_archive("pkg", root, tmp_path / "out")
    (root / "pkg" / "mod.py").write_text("X = 22\n")
    assert build_archive("pkg", root, tmp_path / "out").sha256_b64 != first.sha256_b64
