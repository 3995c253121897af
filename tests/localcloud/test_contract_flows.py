"""Every flow of the example application's contract, end to end through the local cloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from cloud_helpers import function, messages, order, place

from localcloud.engine import LocalCloud

pytestmark = pytest.mark.xdist_group("contract-flows")  # one deployment shared by the module's tests


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as cloud:
        yield cloud


def item(cloud: LocalCloud, table_output: str, key: dict[str, str]) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(cloud.outputs[table_output])
    return table.get_item(Key=key).get("Item", {})


def stock(cloud: LocalCloud, sku: str) -> int:
    return int(item(cloud, "inventory_table", {"sku": sku})["available"])


def execution_output(cloud: LocalCloud, order_id: str) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    arn = cloud.outputs["checkout_state_machine_arn"].replace(":stateMachine:", ":execution:") + f":{order_id}"
    return json.loads(sfn.describe_execution(executionArn=arn)["output"])


def assert_outcome_invariant(cloud: LocalCloud) -> None:
    """An order ends CONFIRMED with stock taken and payment CHARGED, or CANCELLED/EXPIRED with stock restored and
    no CHARGED payment — never in between (checked after every flow, on every order the cloud holds)."""
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    orders = dynamodb.Table(cloud.outputs["orders_table"]).scan()["Items"]
    for current in orders:
        payment = item(cloud, "payments_table", {"order_id": current["order_id"]})
        reservation = item(cloud, "reservations_table", {"order_id": current["order_id"]})
        if current["status"] == "CONFIRMED":
            assert payment["status"] == "CHARGED" and reservation["status"] == "RESERVED", current
        else:
            assert current["status"] in {"CANCELLED", "EXPIRED"}, current
            assert payment.get("status") != "CHARGED", current
            assert reservation.get("status") != "RESERVED", current
    assert not cloud.busy()


@pytest.fixture(autouse=True)
def _invariant_after_each_flow(shared: LocalCloud) -> Iterator[None]:
    yield
    assert_outcome_invariant(shared)


def test_an_order_confirms_with_stock_taken_payment_charged_invoice_and_notification(shared: LocalCloud):
    before = stock(shared, "sku-pear")
    placed = place(shared, "confirm-1", {"sku-pear": 3}, total=75.5, customer="alice")
    shared.drain()
    order_id = placed["order_id"]
    assert order(shared, order_id)["status"] == "CONFIRMED"
    assert execution_output(shared, order_id) == {"outcome": "COMPLETED"}
    assert stock(shared, "sku-pear") == before - 3
    assert item(shared, "payments_table", {"order_id": order_id})["status"] == "CHARGED"
    invoice = item(shared, "invoices_table", {"order_id": order_id})
    assert (invoice["customer_id"], invoice["total"]) == ("alice", Decimal("75.5"))
    assert item(shared, "notifications_table", {"order_id": order_id, "event_type": "OrderConfirmed"})
    summary = item(shared, "customer_orders_table", {"customer_id": "alice"})
    assert {k: int(v) for k, v in summary.items() if k not in {"customer_id", "confirmed_total"}} == {
        "placed": 1,
        "confirmed": 1,
        "open_orders": 0,
    }
    assert summary["confirmed_total"] == Decimal("75.5")


def test_a_declined_payment_cancels_and_restores_stock(shared: LocalCloud):
    before = stock(shared, "sku-apple")
    placed = place(shared, "declined-1", {"sku-apple": 2}, total=1500, customer="bob")
    shared.drain()
    order_id = placed["order_id"]
    current = order(shared, order_id)
    assert (current["status"], current["reason"]) == ("CANCELLED", "PaymentDeclined")
    assert execution_output(shared, order_id) == {"outcome": "CANCELLED", "reason": "PaymentDeclined"}
    assert stock(shared, "sku-apple") == before
    assert item(shared, "payments_table", {"order_id": order_id}) == {}
    assert item(shared, "notifications_table", {"order_id": order_id, "event_type": "OrderCancelled"})
    assert item(shared, "invoices_table", {"order_id": order_id}) == {}


def test_an_out_of_stock_order_cancels_with_nothing_reserved(shared: LocalCloud):
    placed = place(shared, "short-1", {"sku-rare": 2, "sku-plum": 1}, total=30, customer="carol")
    plums = stock(shared, "sku-plum")
    shared.drain()
    current = order(shared, placed["order_id"])
    assert (current["status"], current["reason"]) == ("CANCELLED", "OutOfStock")
    assert (stock(shared, "sku-rare"), stock(shared, "sku-plum")) == (1, plums)


def test_an_invalid_command_returns_errors_and_writes_nothing(shared: LocalCloud):
    orders_before = shared.client("dynamodb").scan(TableName=shared.outputs["orders_table"])["Count"]
    invocation = shared.invoke(shared.outputs["place_order_function"], {"customer_id": "dave", "items": [], "total": 0})
    assert invocation.result == {
        "ok": False,
        "errors": [
            {"field": "items", "message": "must have 1 to 25 items"},
            {"field": "total", "message": "must be a number > 0"},
        ],
    }
    shared.drain()
    assert shared.client("dynamodb").scan(TableName=shared.outputs["orders_table"])["Count"] == orders_before


def test_a_poison_message_on_the_topic_ends_in_the_subscriber_dlq(shared: LocalCloud):
    shared.client("sns").publish(
        TopicArn=shared.outputs["order_events_topic_arn"],
        Message='{"event_type": "OrderPlaced", "order_id": "x"}',  # schema-invalid: no customer, total, items
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}},
    )
    shared.drain()
    dlq = shared.outputs["subscriber_dlq_urls"]["fulfilment"]
    assert messages(shared, dlq) == [{"event_type": "OrderPlaced", "order_id": "x"}]
    alarms = {a.name: a.state for a in shared.evaluate_alarms()}
    assert alarms["order-events-fulfilment-dlq-depth"] == "ALARM"
    assert alarms["checkout-executions-failed"] != "ALARM"


def test_a_duplicate_delivery_does_nothing_twice(shared: LocalCloud):
    placed = place(shared, "dup-1", {"sku-apple": 1}, total=20, customer="erin")
    shared.drain()
    order_id = placed["order_id"]
    stored = order(shared, order_id)
    duplicate = {
        "event_type": "OrderPlaced",
        "order_id": order_id,
        "customer_id": "erin",
        "total": 20,
        "items": [{"sku": "sku-apple", "qty": 1}],
        "status": "PENDING",
        "reason": None,
        "occurred_at": stored["created_at"],
    }
    confirmed = dict(duplicate, event_type="OrderConfirmed", status="CONFIRMED")
    sns = shared.client("sns")
    for event in (duplicate, confirmed):
        sns.publish(
            TopicArn=shared.outputs["order_events_topic_arn"],
            Message=json.dumps(event),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": event["event_type"]}},
        )
    invoice = item(shared, "invoices_table", {"order_id": order_id})
    shared.drain()
    executions = shared.client("stepfunctions").list_executions(
        stateMachineArn=shared.outputs["checkout_state_machine_arn"]
    )["executions"]
    assert [e["name"] for e in executions].count(order_id) == 1
    assert item(shared, "invoices_table", {"order_id": order_id}) == invoice
    assert order(shared, order_id)["version"] == stored["version"]


def test_a_big_order_is_counted_once(shared: LocalCloud):
    before = shared.metrics.total("serverless-orders", "BigOrders")
    placed = place(shared, "big-1", {"sku-apple": 1}, total=650, customer="frank")
    shared.drain()
    assert order(shared, placed["order_id"])["status"] == "CONFIRMED"
    assert shared.metrics.total("serverless-orders", "BigOrders") == before + 1


def test_a_pending_order_expires_through_the_scheduled_job(shared: LocalCloud):
    fulfilment = function("order-events-fulfilment-consumer")
    shared.fail_next(fulfilment, "DownstreamUnavailable", times=5)  # the saga never starts for this order
    placed = place(shared, "stuck-1", {"sku-plum": 1}, total=15, customer="grace")
    plums = stock(shared, "sku-plum")
    shared.drain()  # the event is retried until it reaches the fulfilment DLQ (the clock moves with it)
    order_id = placed["order_id"]
    executions = shared.client("stepfunctions").list_executions(
        stateMachineArn=shared.outputs["checkout_state_machine_arn"]
    )["executions"]
    assert order_id not in [e["name"] for e in executions]
    shared.advance(minutes=20)  # past pendingOrderTtlMinutes (15): expire-orders runs on its schedule
    shared.drain()
    assert order(shared, order_id)["status"] == "EXPIRED"
    assert item(shared, "notifications_table", {"order_id": order_id, "event_type": "OrderExpired"})
    summary = item(shared, "customer_orders_table", {"customer_id": "grace"})
    assert (int(summary["expired"]), int(summary["open_orders"])) == (1, 0)
    assert stock(shared, "sku-plum") == plums
