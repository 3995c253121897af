"""The order-events subscribers against moto: SNS filters, real SQS, DynamoDB and Step Functions calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from lambda_context import FakeLambdaContext
from moto import mock_aws
from order_events import big_orders, fulfilment, invoicing, notifications
from order_events_harness import OrderEventsCloud, declared_subscriptions, deploy_order_events

HANDLERS = {
    "fulfilment": fulfilment.handler,
    "invoicing": invoicing.handler,
    "notifications": notifications.handler,
    "big-orders": big_orders.handler,
}


@pytest.fixture(scope="module")
def declared() -> dict[str, dict[str, Any]]:
    return declared_subscriptions()


@pytest.fixture
def cloud(declared, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderEventsCloud]:
    with mock_aws():
        deployed = deploy_order_events(declared)
        monkeypatch.setenv("CHECKOUT_STATE_MACHINE_ARN", deployed.state_machine_arn)
        monkeypatch.setenv("INVOICES_TABLE", "invoices")
        monkeypatch.setenv("NOTIFICATIONS_TABLE", "notifications")
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        yield deployed


def order_event(event_type: str, order_id: str = "o-1", total: float = 120, **extra: Any) -> dict[str, Any]:
    status = {
        "OrderPlaced": "PENDING",
        "OrderConfirmed": "CONFIRMED",
        "OrderCancelled": "CANCELLED",
        "OrderExpired": "EXPIRED",
    }[event_type]
    return {
        "event_type": event_type,
        "order_id": order_id,
        "customer_id": "c-1",
        "total": total,
        "items": [{"sku": "sku-apple", "qty": 2}],
        "status": status,
        "reason": extra.pop("reason", None),
        "occurred_at": "2026-11-25T10:00:00.000Z",
        **extra,
    }


def drain(cloud: OrderEventsCloud, subscriber: str) -> list[dict[str, Any]]:
    responses = []
    while (response := cloud.poll(subscriber, HANDLERS[subscriber], FakeLambdaContext()))["received"]:
        responses.append(response)
        if response["batchItemFailures"]:
            break
    return responses


def test_delivery_honours_each_filter(cloud: OrderEventsCloud):
    cloud.publish(order_event("OrderPlaced", "small", total=100))
    cloud.publish(order_event("OrderPlaced", "edge", total=500))
    cloud.publish(order_event("OrderPlaced", "big", total=650.5))
    cloud.publish(order_event("OrderConfirmed", "small"))
    cloud.publish(order_event("OrderCancelled", "x", reason="OutOfStock"))
    cloud.publish(order_event("OrderExpired", "y"))
    assert {name: cloud.depth(name) for name in HANDLERS} == {
        "fulfilment": 3,
        "invoicing": 1,
        "notifications": 3,
        "big-orders": 2,  # total >= 500, read from the message body
    }


def test_fulfilment_starts_one_execution_per_order_with_the_canonical_input(cloud: OrderEventsCloud):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    cloud.publish(order_event("OrderPlaced", "o-1", total=120.5))
    cloud.publish(order_event("OrderPlaced", "o-1", total=120.5))  # a duplicate while the saga runs
    cloud.publish(order_event("OrderPlaced", "o-2"))
    responses = drain(cloud, "fulfilment")
    [o2] = [e for e in sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"] if e["name"] == "o-2"]
    sfn.stop_execution(executionArn=o2["executionArn"])
    cloud.publish(order_event("OrderPlaced", "o-2"))  # redelivered after the saga ended: ExecutionAlreadyExists
    responses += drain(cloud, "fulfilment")
    assert [f for r in responses for f in r["batchItemFailures"]] == []
    assert sum(r["received"] for r in responses) == 4
    executions = sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
    assert sorted(e["name"] for e in executions) == ["o-1", "o-2"]
    first = next(e for e in executions if e["name"] == "o-1")
    started = sfn.describe_execution(executionArn=first["executionArn"])
    assert json.loads(started["input"]) == {
        "order_id": "o-1",
        "customer_id": "c-1",
        "items": [{"sku": "sku-apple", "qty": 2}],
        "total": 120.5,
    }
    assert cloud.depth("fulfilment") == 0


def test_a_malformed_or_invalid_message_fails_alone(cloud: OrderEventsCloud):
    cloud.publish(order_event("OrderPlaced", "good-1"))
    cloud.publish_raw("{not json", "OrderPlaced")
    cloud.publish(order_event("OrderPlaced", "bad id with spaces"))
    invalid = order_event("OrderPlaced", "missing-customer")
    del invalid["customer_id"]
    cloud.publish(invalid)
    cloud.publish(order_event("OrderPlaced", "good-2"))
    response = cloud.poll("fulfilment", fulfilment.handler, FakeLambdaContext())
    assert response["received"] == 5
    assert len(response["batchItemFailures"]) == 3
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    names = sorted(e["name"] for e in sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"])
    assert names == ["good-1", "good-2"]
    assert cloud.depth("fulfilment") == 3, "the failed messages stay on the queue for their next receive"


def test_a_poison_message_reaches_the_dlq_after_max_receive_count(cloud: OrderEventsCloud, declared):
    cloud.publish_raw("{not json", "OrderPlaced")
    receives = 0
    while cloud.poll("fulfilment", fulfilment.handler, FakeLambdaContext())["received"]:
        receives += 1
        assert receives <= 10, "the message never left the queue"
    assert receives == declared["fulfilment"]["maxReceiveCount"]
    assert cloud.depth("fulfilment") == 0
    assert cloud.depth("fulfilment", dlq=True) == 1


def test_invoicing_writes_one_invoice_per_order(cloud: OrderEventsCloud):
    cloud.publish(order_event("OrderConfirmed", "o-1", total=99.99))
    drain(cloud, "invoicing")
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("invoices")
    first = table.get_item(Key={"order_id": "o-1"})["Item"]
    assert (first["customer_id"], first["total"]) == ("c-1", Decimal("99.99"))
    cloud.publish(order_event("OrderConfirmed", "o-1", total=99.99))
    assert drain(cloud, "invoicing")[0]["batchItemFailures"] == []
    assert table.get_item(Key={"order_id": "o-1"})["Item"] == first, "a redelivery changes nothing"
    assert table.scan()["Count"] == 1


def test_notifications_once_per_order_and_event_type(cloud: OrderEventsCloud):
    for event_type in ("OrderConfirmed", "OrderConfirmed", "OrderCancelled", "OrderExpired"):
        cloud.publish(order_event(event_type, "o-1"))
    drain(cloud, "notifications")
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("notifications")
    items = table.scan()["Items"]
    assert sorted(i["event_type"] for i in items) == ["OrderCancelled", "OrderConfirmed", "OrderExpired"]
    assert {i["order_id"] for i in items} == {"o-1"}


def test_big_orders_counts_each_order_once(cloud: OrderEventsCloud, capsys: pytest.CaptureFixture[str]):
    cloud.publish(order_event("OrderPlaced", "big-1", total=700))
    cloud.publish(order_event("OrderPlaced", "big-1", total=700))  # duplicate
    cloud.publish(order_event("OrderPlaced", "big-2", total=500))
    responses = drain(cloud, "big-orders")
    assert sum(r["received"] for r in responses) == 3
    assert [f for r in responses for f in r["batchItemFailures"]] == []
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"BigOrders"' in line]
    assert sum(sum(blob["BigOrders"]) for blob in emitted) == 2
    records = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="idempotency")["Items"]
    assert len(records) == 2


def test_big_orders_schema_invalid_event_fails_alone(cloud: OrderEventsCloud):
    bad = order_event("OrderPlaced", "big-3", total=800)
    bad["items"] = []
    cloud.publish(bad)
    cloud.publish(order_event("OrderPlaced", "big-4", total=800))
    response = cloud.poll("big-orders", big_orders.handler, FakeLambdaContext())
    assert response["received"] == 2
    assert len(response["batchItemFailures"]) == 1


def big_orders_emitted(text: str) -> float:
    return sum(sum(json.loads(line)["BigOrders"]) for line in text.splitlines() if '"BigOrders"' in line)


class SandboxKilled(BaseException):
    """Lambda stopping the sandbox at its timeout: nothing after this point runs, no finally either."""


def test_big_orders_each_count_is_out_before_the_next_record_starts(
    cloud: OrderEventsCloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from botocore.client import BaseClient

    cloud.publish(order_event("OrderPlaced", "big-a", total=700))
    cloud.publish(order_event("OrderPlaced", "big-b", total=800))
    original = BaseClient._make_api_call
    printed_before_the_kill: list[str] = []

    def killed_on_the_second_record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "PutItem" and params.get("TableName") == "idempotency":
            printed_before_the_kill.append(capsys.readouterr().out)
            if len(printed_before_the_kill) == 2:  # the second record starts: the sandbox times out here
                raise SandboxKilled
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", killed_on_the_second_record)
    with pytest.raises(SandboxKilled):
        cloud.poll("big-orders", big_orders.handler, FakeLambdaContext())
    assert big_orders_emitted(printed_before_the_kill[1]) == 1, "the first count was out before the timeout"
    monkeypatch.setattr(BaseClient, "_make_api_call", original)
    responses = drain(cloud, "big-orders")  # both messages come back: the counted one is skipped
    assert sum(r["received"] for r in responses) == 2
    assert [f for r in responses for f in r["batchItemFailures"]] == []
    assert big_orders_emitted(capsys.readouterr().out) == 1, "only the second order is counted now"


def test_big_orders_a_failed_record_save_counts_nothing_and_the_redelivery_counts_once(
    cloud: OrderEventsCloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from botocore.client import BaseClient

    cloud.publish(order_event("OrderPlaced", "big-t", total=900))
    original = BaseClient._make_api_call
    throttled: list[str] = []

    def completion_throttled_once(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and params.get("TableName") == "idempotency" and not throttled:
            throttled.append(operation)
            raise client.exceptions.ProvisionedThroughputExceededException(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation
            )
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", completion_throttled_once)
    first = cloud.poll("big-orders", big_orders.handler, FakeLambdaContext(timeout_ms=1))
    assert throttled == ["UpdateItem"] and len(first["batchItemFailures"]) == 1
    assert big_orders_emitted(capsys.readouterr().out) == 0, "not recorded: not counted"
    time.sleep(0.01)  # past the failed invocation's deadline, which bounded its IN_PROGRESS record
    again = cloud.poll("big-orders", big_orders.handler, FakeLambdaContext())
    assert again["received"] == 1 and again["batchItemFailures"] == []
    assert big_orders_emitted(capsys.readouterr().out) == 1
    cloud.publish(order_event("OrderPlaced", "big-t", total=900))  # and any later redelivery counts nothing
    drain(cloud, "big-orders")
    assert big_orders_emitted(capsys.readouterr().out) == 0
