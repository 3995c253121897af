"""The Lambda runtimes, the Powertools layer's SSM parameter and the pip pin move together."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from serverless_patterns.internals.runtime import (
    ARCHITECTURE,
    ARCHITECTURES,
    LAMBDA_RUNTIME,
    POWERTOOLS_VERSION,
    RUNTIMES,
    powertools_layer_parameter,
)

ROOT = Path(__file__).parents[2]


def test_requirements_pin_matches_the_layer_release():
    requirements = (ROOT / "requirements.txt").read_text()
    pinned = re.search(r"^aws-lambda-powertools(\[[^\]]*\])?==([\d.]+)$", requirements, re.M)
    assert pinned is not None
    assert pinned.group(2) == POWERTOOLS_VERSION
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_the_defaults_are_among_the_supported_runtimes_and_architectures():
    assert (LAMBDA_RUNTIME, ARCHITECTURE) == ("python3.13", "arm64")
    assert LAMBDA_RUNTIME in RUNTIMES and ARCHITECTURE in ARCHITECTURES


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_the_layer_parameter_names_the_pinned_release_not_latest(runtime: str, architecture: str):
    # AWS publishes each release's layer ARN per region under this public parameter.
    assert powertools_layer_parameter(runtime, architecture) == (
        f"/aws/service/powertools/python/{architecture}/{runtime}/{POWERTOOLS_VERSION}"
    )


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for raw in (ROOT / name).read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith(("#", "-r")) and line != "-e .":  # -e .: the library, from this checkout
                assert "==" in line, f"{name}: {line} is not pinned"
