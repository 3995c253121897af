"""Every handler package runs from its archive: it imports only itself, the shared runtime and the Lambda runtime."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from components.archive import HANDLERS_ROOT, RUNTIME_PACKAGE

# What the python3.13 Lambda runtime and the Powertools layer provide besides the standard library.
PROVIDED = {"boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk", "pydantic", "jmespath", "fastjsonschema"}
PACKAGES = sorted(p.name for p in HANDLERS_ROOT.iterdir() if (p / "__init__.py").is_file())


def top_level_imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (HANDLERS_ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(HANDLERS_ROOT)))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_archive_holds(package: str):
    allowed = {package, RUNTIME_PACKAGE, "__future__", *PROVIDED, *sys.stdlib_module_names}
    stray = {name: files for name, files in top_level_imports(package).items() if name not in allowed}
    assert stray == {}


def test_there_are_handler_packages():
    assert {"handler_runtime", "order_events", "orders"} <= set(PACKAGES)
    assert Path(HANDLERS_ROOT / RUNTIME_PACKAGE / "__init__.py").is_file()
