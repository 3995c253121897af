"""Local cloud tests: the dev stack deployed into moto, its handlers run in-process (helpers: cloud_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.engine import LocalCloud


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as started:
        yield started
