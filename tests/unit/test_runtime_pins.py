"""The Lambda runtime, the Powertools layer and the pip pin move together."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from serverless_patterns.internals.runtime import LAMBDA_RUNTIME, POWERTOOLS_LAYER_NAME, POWERTOOLS_VERSION

ROOT = Path(__file__).parents[2]


def test_requirements_pin_matches_the_layer_release():
    requirements = (ROOT / "requirements.txt").read_text()
    pinned = re.search(r"^aws-lambda-powertools(\[[^\]]*\])?==([\d.]+)$", requirements, re.M)
    assert pinned is not None
    assert pinned.group(2) == POWERTOOLS_VERSION
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_layer_name_matches_runtime_and_architecture():
    assert POWERTOOLS_LAYER_NAME == f"AWSLambdaPowertoolsPythonV3-{LAMBDA_RUNTIME.replace('.', '')}-arm64"


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for raw in (ROOT / name).read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith(("#", "-r")) and line != "-e .":  # -e .: the library, from this checkout
                assert "==" in line, f"{name}: {line} is not pinned"
