"""expire-orders against moto: exactly the stale PENDING orders expire, once, and an early stop loses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from expiry import expire_orders
from lambda_context import FakeLambdaContext
from moto import mock_aws

SCHEDULED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def orders(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("order_id", "status", "created_at")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "status-created_at",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for key, value in {
            "ORDERS_TABLE": "orders",
            "STATUS_INDEX": "status-created_at",
            "PENDING_ORDER_TTL_MINUTES": "15",
            "IDEMPOTENCY_TABLE": "idempotency",
        }.items():
            monkeypatch.setenv(key, value)
        yield boto3.resource("dynamodb", region_name="us-east-1").Table("orders")


def add_order(table: Any, order_id: str, status: str, age_minutes: float) -> None:
    created = iso(SCHEDULED - timedelta(minutes=age_minutes))
    table.put_item(
        Item={
            "order_id": order_id,
            "status": status,
            "created_at": created,
            "updated_at": created,
            "version": 1,
            "customer_id": "c",
            "total": 1,
        }
    )


def statuses(table: Any) -> dict[str, str]:
    return {item["order_id"]: item["status"] for item in table.scan()["Items"]}


def run(scheduled: datetime = SCHEDULED, context: Any = None) -> dict[str, Any]:
    return expire_orders.handler({"scheduled_time": iso(scheduled)}, context or FakeLambdaContext(timeout_ms=60_000))


class ShrinkingContext(FakeLambdaContext):
    """Reports a little less remaining time on every look, as a long run would see."""

    def __init__(self, looks_before_deadline: int) -> None:
        super().__init__()
        self.looks = 0
        self.looks_before_deadline = looks_before_deadline

    def get_remaining_time_in_millis(self) -> int:
        self.looks += 1
        return 60_000 if self.looks <= self.looks_before_deadline else expire_orders.SAFETY_MARGIN_MS - 1


def test_exactly_the_stale_pending_orders_expire(orders, capsys: pytest.CaptureFixture[str]):
    add_order(orders, "stale-1", "PENDING", 20)
    add_order(orders, "stale-2", "PENDING", 15.5)
    add_order(orders, "fresh", "PENDING", 14)
    add_order(orders, "done", "CONFIRMED", 60)
    add_order(orders, "gone", "CANCELLED", 60)
    result = run()
    assert (result["expired"], result["complete"]) == (2, True)
    assert result["cutoff"] == "2026-11-25T09:45:00.000Z"
    assert statuses(orders) == {
        "stale-1": "EXPIRED",
        "stale-2": "EXPIRED",
        "fresh": "PENDING",
        "done": "CONFIRMED",
        "gone": "CANCELLED",
    }
    expired = orders.get_item(Key={"order_id": "stale-1"})["Item"]
    assert expired["version"] == 2 and expired["updated_at"] != expired["created_at"]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"OrdersExpired"' in line]
    assert [blob["OrdersExpired"] for blob in emitted] == [[2.0]]


def test_a_second_run_changes_nothing(orders):
    add_order(orders, "stale", "PENDING", 30)
    run()
    before = orders.scan()["Items"]
    assert run() == run(), "the same scheduled run is idempotent"
    later = run(SCHEDULED + timedelta(minutes=5))
    assert later["expired"] == 0
    assert orders.scan()["Items"] == before


def test_a_duplicated_delivery_of_one_run_does_not_run_twice(orders):
    add_order(orders, "stale", "PENDING", 30)
    first = run()
    add_order(orders, "stale-later", "PENDING", 30)  # appears between the two deliveries of the same run
    assert run() == first, "the stored result is returned"
    assert statuses(orders)["stale-later"] == "PENDING"
    assert run(SCHEDULED + timedelta(minutes=5))["expired"] == 1, "the next run picks it up"


def test_pagination_covers_every_stale_order(orders):
    for i in range(expire_orders.PAGE_SIZE + 30):
        add_order(orders, f"stale-{i:03d}", "PENDING", 30)
    result = run()
    assert (result["expired"], result["complete"]) == (expire_orders.PAGE_SIZE + 30, True)
    assert set(statuses(orders).values()) == {"EXPIRED"}


def test_a_near_timeout_run_stops_early_and_the_next_run_finishes(orders):
    for i in range(10):
        add_order(orders, f"stale-{i}", "PENDING", 30)
    first = run(context=ShrinkingContext(looks_before_deadline=4))  # Powertools takes one look too
    assert first["complete"] is False
    assert 0 < first["expired"] < 10
    assert list(statuses(orders).values()).count("EXPIRED") == first["expired"]
    second = run(SCHEDULED + timedelta(minutes=5))
    assert (second["expired"], second["complete"]) == (10 - first["expired"], True)
    assert set(statuses(orders).values()) == {"EXPIRED"}


def test_a_malformed_event_is_refused():
    from handler_runtime.validation import ValidationFailed

    with pytest.raises(ValidationFailed, match="scheduled_time"):
        expire_orders.handler({"scheduled_time": "yesterday"}, FakeLambdaContext())


def test_a_malformed_order_never_blocks_the_others(orders, monkeypatch: pytest.MonkeyPatch):
    orders.put_item(Item={"order_id": "odd", "status": "PENDING", "created_at": iso(SCHEDULED - timedelta(hours=9))})
    add_order(orders, "stale", "PENDING", 30)
    result = run()
    assert statuses(orders) == {"odd": "EXPIRED", "stale": "EXPIRED"}, "the oldest is malformed: it must not block"
    assert orders.get_item(Key={"order_id": "odd"})["Item"]["version"] == 1
    assert result["expired"] == 2


def test_an_order_that_cannot_be_written_is_skipped_and_reported(orders, monkeypatch: pytest.MonkeyPatch):
    from botocore.client import BaseClient

    add_order(orders, "broken", "PENDING", 40)
    add_order(orders, "stale", "PENDING", 30)
    original = BaseClient._make_api_call

    def refuse_broken(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and params["Key"].get("order_id") in ("broken", {"S": "broken"}):
            raise client.exceptions.ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum"}}, operation
            )
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse_broken)
    result = run()
    assert statuses(orders) == {"broken": "PENDING", "stale": "EXPIRED"}
    assert (result["expired"], result["failed"]) == (1, 1)


def test_a_throttled_write_fails_the_run_so_it_is_retried(orders, monkeypatch: pytest.MonkeyPatch):
    from botocore.client import BaseClient

    add_order(orders, "stale", "PENDING", 30)
    original = BaseClient._make_api_call

    def throttled(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and params.get("TableName") == "orders":
            raise client.exceptions.ProvisionedThroughputExceededException(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation
            )
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", throttled)
    with pytest.raises(Exception, match="ProvisionedThroughputExceeded") as caught:
        run()
    assert type(caught.value).__name__ == "TransientError"
