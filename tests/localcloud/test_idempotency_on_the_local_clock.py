"""Powertools' idempotency takes "now" from the local clock: an IN_PROGRESS record stops blocking redeliveries
once the local clock passes its invocation's deadline, and a COMPLETED record expires on the local clock, as
they would on AWS once that much time has passed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from cloud_helpers import function, invocations, messages, place
from moto import mock_aws

from localcloud.clock import Clock
from localcloud.engine import LocalCloud
from localcloud.lambda_runtime import InvocationError, LocalFunction
from serverless_patterns.internals.archive import archive_bytes

TIMEOUT_SECONDS = 30
EXPIRY_SECONDS = 60

PROBE = f"""
import uuid

from handler_runtime.idempotency import Idempotency

once = Idempotency("id", expires_after_seconds={EXPIRY_SECONDS})


class Killed(BaseException):
    '''Stands in for Lambda stopping the invocation at its timeout: Powertools cannot clean up after it.'''


@once.function
def process(payload, killed=False):
    if killed:
        raise Killed
    return {{"id": payload["id"], "run": str(uuid.uuid4())}}


def handler(event, context):
    once.register(context)
    return process(payload=event["message"], killed=event.get("killed", False))
"""


@pytest.fixture
def clock() -> Iterator[Clock]:
    """A local clock Powertools reads, and moto with the idempotency table."""
    local = Clock()
    with mock_aws(), local.installed_in_powertools():
        boto3.client("dynamodb").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield local


@pytest.fixture
def probe(tmp_path: Path) -> LocalFunction:
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "__init__.py").write_text("")
    (tmp_path / "probe" / "app.py").write_text(PROBE)
    archive, _ = archive_bytes("probe", root=tmp_path)
    return LocalFunction.from_archive(
        "probe",
        "arn:aws:lambda:us-east-1:123456789012:function:probe",
        "probe.app.handler",
        archive,
        environment={"IDEMPOTENCY_TABLE": "idempotency"},
        timeout_seconds=TIMEOUT_SECONDS,
    )


def record() -> dict[str, Any]:
    [item] = boto3.client("dynamodb").scan(TableName="idempotency")["Items"]
    return item


def blocked(probe: LocalFunction, event: dict[str, Any]) -> bool:
    try:
        probe.invoke(event)
    except InvocationError as error:
        assert error.error_type == "IdempotencyAlreadyInProgressError", error
        return True
    return False


def test_a_record_left_in_progress_blocks_redeliveries_until_the_local_clock_passes_its_deadline(
    clock: Clock, probe: LocalFunction
):
    clock.advance(24 * 3600)  # a day ahead of wall time: wall time would put the deadline a day early
    message = {"id": "m-1"}
    started = time.monotonic()
    with pytest.raises(BaseException) as killed:  # Killed is a class of the function's own module
        probe.invoke({"message": message, "killed": True})
    took = time.monotonic() - started
    assert type(killed.value).__name__ == "Killed"
    left = record()
    assert left["status"]["S"] == "INPROGRESS"
    deadline = int(left["in_progress_expiration"]["N"]) / 1000
    latest = clock.now().timestamp() + TIMEOUT_SECONDS  # the local clock stood still during the invocation
    assert latest - took - 0.01 <= deadline <= latest + 0.01, "local now + the invocation's remaining time"

    assert blocked(probe, {"message": message})
    clock.advance(deadline - clock.now().timestamp() - 0.5)
    assert blocked(probe, {"message": message}), "the killed invocation could still be running"
    clock.advance(1)
    done = probe.invoke({"message": message})
    assert record()["status"]["S"] == "COMPLETED"
    assert probe.invoke({"message": message}) == done, "the redelivery that took over is the one remembered"


def test_a_completed_record_expires_when_the_local_clock_passes_its_expiry(clock: Clock, probe: LocalFunction):
    first = probe.invoke({"message": {"id": "m-2"}})
    clock.advance(EXPIRY_SECONDS - 1)
    assert probe.invoke({"message": {"id": "m-2"}}) == first
    assert int(record()["expiration"]["N"]) > clock.now().timestamp()
    clock.advance(2)
    again = probe.invoke({"message": {"id": "m-2"}})
    assert again["run"] != first["run"], "an expired record no longer stands for the first run"


class _Killed(BaseException):
    """Stands in for Lambda stopping the invocation at its timeout."""


def killed_before_success_is_saved(real: Callable[[Any], Any], event: Any) -> Any:
    """Runs the invocation, which stops after its work and before Powertools records success (an IN_PROGRESS
    record is left behind), as at a timeout."""

    def stop(*args: Any, **kwargs: Any) -> None:
        raise _Killed

    with mock.patch.object(BasePersistenceLayer, "save_success", stop):
        try:
            return real(event)
        except _Killed:
            raise InvocationError("Sandbox.Timedout", "Task timed out", []) from None


def test_a_redelivered_message_takes_over_a_killed_invocations_record_in_the_local_cloud():
    big_orders = function("order-events-big-orders-consumer")
    with LocalCloud.started("dev") as cloud:
        cloud.inject_fault(big_orders, killed_before_success_is_saved)
        order_id = place(cloud, "big-1", total=600)["order_id"]
        cloud.drain()  # the message comes back after its visibility timeout, past the killed invocation's deadline
        outcomes = [i.error.error_type if i.error else i.result for i in invocations(cloud, big_orders)]
        assert outcomes == ["Sandbox.Timedout", {"batchItemFailures": []}]
        assert messages(cloud, cloud.outputs["subscriber_dlq_urls"]["big-orders"]) == []
        idempotency = cloud.client("dynamodb").scan(TableName=cloud.outputs["idempotency_table"])["Items"]
        assert [r["status"]["S"] for r in idempotency] == ["COMPLETED"], f"{order_id} recorded once"
        assert cloud.metrics.total("serverless-orders", "BigOrders") == 1
