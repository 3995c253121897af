"""Reliability tests: the dev stack in the local cloud under injected faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.engine import LocalCloud
from scenarios.flow import FlowFunctions


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[LocalCloud, FlowFunctions]]:
    """One deployment per module: every case uses its own customer and orders, and leaves the cloud quiet."""
    with LocalCloud.started("dev") as cloud:
        yield cloud, FlowFunctions.of(cloud)
