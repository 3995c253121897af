"""Operations tests: moto's SQS, DynamoDB streams and Lambda, functions run in this process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from redrive_fixtures import Aws

from localcloud.lambda_runtime import LocalFunction, moto_runs_lambdas_in_process
from serverless_patterns import redrive


@pytest.fixture(autouse=True)
def _short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's short polling is exact, and a long poll would wait out every drained queue."""
    monkeypatch.setattr(redrive, "RECEIVE_WAIT_SECONDS", 0)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        state = Aws()

        def invoke(function: LocalFunction, event: Any) -> Any:
            state.received.append((function.name, event))
            return function.invoke(event)

        with moto_runs_lambdas_in_process(invoke):
            yield state
