"""Every handler package runs from its archive: it imports only itself, the shared runtime and the Lambda runtime."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from serverless_patterns.internals.archive import RUNTIME_PACKAGE, RUNTIME_ROOT

HANDLERS_ROOT = Path(__file__).resolve().parents[2] / "handlers"  # the orders app's handler packages

# What the python3.13 Lambda runtime and the Powertools layer provide besides the standard library.
PROVIDED = {"boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk", "pydantic", "jmespath", "fastjsonschema"}
ROOTS = {p.name: HANDLERS_ROOT for p in HANDLERS_ROOT.iterdir() if (p / "__init__.py").is_file()}
ROOTS[RUNTIME_PACKAGE] = RUNTIME_ROOT  # the shared runtime, shipped inside the library
PACKAGES = sorted(ROOTS)


def top_level_imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    root = ROOTS[package]
    for path in (root / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(root)))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_archive_holds(package: str):
    allowed = {package, RUNTIME_PACKAGE, "__future__", *PROVIDED, *sys.stdlib_module_names}
    stray = {name: files for name, files in top_level_imports(package).items() if name not in allowed}
    assert stray == {}


def test_there_are_handler_packages_and_the_runtime_ships_in_the_library():
    assert {"handler_runtime", "order_events", "orders", "checkout", "expiry"} <= set(PACKAGES)
    assert (RUNTIME_ROOT / RUNTIME_PACKAGE / "__init__.py").is_file()
    assert not (HANDLERS_ROOT / RUNTIME_PACKAGE).exists(), "one copy of the runtime: the library's"
