"""Shared fixtures: evaluate Pulumi declarations offline, and fake AWS credentials for moto."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, run_declarations


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def declare() -> Callable[[Callable[[], object]], ProgramRun]:
    """Run declarations under offline mocks (stack ``test``) and return what they registered."""

    def run(build: Callable[[], object]) -> ProgramRun:
        return run_declarations(OfflineMocks(), build, project="serverless-orders")

    return run
