"""The archive builder: deterministic, complete, and free of build debris."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pulumi_helpers import FIXTURE_HANDLERS

from components.archive import archive_bytes, build_archive, handler_problems

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
        "handler 'nope.handler': no module nope.py in handlers/sample"
    ]
    assert handler_problems("ghost", "app.handler", ROOT) == ["handler_package 'ghost' is not a folder under handlers/"]
