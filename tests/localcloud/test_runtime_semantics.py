"""Details of the local runtime that must match AWS: response marshalling, batch responses, schedule starts,
and the one clock handlers and schedules share."""

from __future__ import annotations

import datetime as datetime_module
import io
import os
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from cloud_helpers import order, place

from localcloud.deploy import ScheduleRecord
from localcloud.engine import Invocation, LocalCloud
from localcloud.function_environment import FunctionEnvironment
from localcloud.lambda_runtime import InvocationError, LocalFunction
from localcloud.sources import ScheduleSource, _failed_ids


def function_returning(tmp_path: Path, expression: str) -> LocalFunction:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("probe/__init__.py", "")
        zipped.writestr(
            "probe/app.py",
            f"import datetime, decimal\ndef handler(event, context):\n    return {expression}\n",
        )
    return LocalFunction.from_archive(
        "probe", "arn:aws:lambda:us-east-1:1:function:probe", "probe.app.handler", archive.getvalue(), environment={}
    )


def test_decimals_cross_the_wire_as_numbers_and_anything_else_fails_to_marshal(tmp_path: Path):
    assert function_returning(tmp_path, "{'n': decimal.Decimal('2.5'), 'i': decimal.Decimal('3')}").invoke({}) == {
        "n": 2.5,
        "i": 3,
    }
    with pytest.raises(InvocationError) as caught:
        function_returning(tmp_path, "{'at': datetime.datetime(2026, 1, 1)}").invoke({})
    assert caught.value.error_type == "Runtime.MarshalError"


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}])
def test_an_empty_or_null_batch_response_is_complete_success(response):
    invocation = Invocation("f", "sqs", {}, result=response)
    assert _failed_ids(invocation, True, ["a", "b"]) == []


@pytest.mark.parametrize(
    "response", ["nonsense", {"batchItemFailures": "x"}, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}]
)
def test_a_malformed_batch_response_fails_the_whole_batch(response):
    assert _failed_ids(Invocation("f", "sqs", {}, result=response), True, ["a", "b"]) == ["a", "b"]


def test_nothing_fires_before_a_schedules_start_date():
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    cloud = SimpleNamespace(clock=SimpleNamespace(now=lambda: now))
    record = ScheduleRecord(
        "s",
        "default",
        "rate(5 minutes)",
        "UTC",
        "arn:aws:lambda:us-east-1:1:function:f",
        "{}",
        None,
        start_date="2026-11-25T12:00:00Z",
    )
    source = ScheduleSource(record, cloud, now)  # type: ignore[arg-type]
    assert source.next_fire() == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_handlers_write_timestamps_on_the_local_clock(cloud: LocalCloud):
    cloud.advance(minutes=20)
    placed = place(cloud, "late")
    created = datetime.fromisoformat(order(cloud, placed["order_id"])["created_at"].replace("Z", "+00:00"))
    assert abs(created - cloud.clock.now()) < timedelta(seconds=5)
    cloud.drain()
    assert order(cloud, placed["order_id"])["status"] == "CONFIRMED", "a fresh order is never expired"
    assert Decimal(order(cloud, placed["order_id"])["version"]) == 2


def test_the_local_cloud_layers_os_environ_and_sets_powertools_clock_until_it_stops():
    from aws_lambda_powertools.utilities.idempotency.persistence import base

    original = os.environ
    with LocalCloud.started("dev") as cloud:
        assert isinstance(os.environ, FunctionEnvironment)
        cloud.clock.advance(3600)
        assert abs(base.dt.datetime.now(UTC) - cloud.clock.now()) < timedelta(seconds=1)
    assert os.environ is original
    assert base.dt is datetime_module
