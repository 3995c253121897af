"""The orders Cqrs handlers against moto: place-order, the customer-summary projection, the events publisher.

Stream records come from real put/update/delete calls on a moto table, read through the DynamoDB Streams API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from lambda_context import FakeLambdaContext
from moto import mock_aws
from orders import customer_summary, place_order, publisher
from orders_harness import REGION, create_table, set_status, stream_records


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with mock_aws():
        stream_arn = create_table("orders", "order_id", stream=True)
        create_table("customer-orders", "customer_id")
        create_table("projection-markers", "marker")
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="order-events")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        for key, value in {
            "WRITE_TABLE": "orders",
            "CUSTOMER_ORDERS_TABLE": "customer-orders",
            "PROJECTION_MARKERS_TABLE": "projection-markers",
            "ORDER_EVENTS_TOPIC_ARN": topic_arn,
        }.items():
            monkeypatch.setenv(key, value)
        yield {"stream_arn": stream_arn, "topic_arn": topic_arn, "queue_url": queue_url}


def place(customer: str = "c-1", total: float = 120, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
    command: dict[str, Any] = {"customer_id": customer, "items": [{"sku": "sku-apple", "qty": 2}], "total": total}
    if request_id is not None:
        command["request_id"] = request_id
    command.update(extra)
    return place_order.handler(command, FakeLambdaContext())


def orders_table() -> Any:
    return boto3.resource("dynamodb", region_name=REGION).Table("orders")


def summary(customer: str = "c-1") -> dict[str, Any]:
    item = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table("customer-orders")
        .get_item(Key={"customer_id": customer})
        .get("Item", {})
    )
    return {k: v for k, v in item.items() if k != "customer_id"}


def project(records: list[dict[str, Any]]) -> dict[str, Any]:
    return customer_summary.handler({"Records": records}, FakeLambdaContext())


# place-order ------------------------------------------------------------------------------------------------------


def test_place_order_writes_a_pending_order(aws):
    result = place(total=120.5, request_id="req-1")
    assert result["ok"] is True
    order = orders_table().get_item(Key={"order_id": result["order_id"]})["Item"]
    assert order["status"] == "PENDING"
    assert order["version"] == 1
    assert order["total"] == Decimal("120.5")
    assert order["items"] == [{"sku": "sku-apple", "qty": 2}]
    assert order["created_at"] == order["updated_at"]
    assert order["created_at"].endswith("Z")


def test_two_customers_reusing_one_request_id_get_two_orders(aws):
    alice = place(customer="alice", request_id="1", total=10)
    bob = place(customer="bob", request_id="1", total=20)
    assert alice["ok"] is True and bob["ok"] is True
    assert alice["order_id"] != bob["order_id"]
    orders = {o["customer_id"]: o for o in orders_table().scan()["Items"]}
    assert (orders["alice"]["total"], orders["bob"]["total"]) == (Decimal(10), Decimal(20))


def test_a_reused_request_id_with_another_payload_is_refused_and_changes_nothing(aws):
    first = place(customer="alice", request_id="1", total=10)
    stored = orders_table().get_item(Key={"order_id": first["order_id"]})["Item"]
    for changed in ({"total": 11}, {"items": [{"sku": "sku-pear", "qty": 2}]}):
        reply = place(customer="alice", request_id="1", **{"total": 10, **changed})
        assert reply["ok"] is False
        assert [e["field"] for e in reply["errors"]] == ["request_id"]
        assert "another order" in reply["errors"][0]["message"]
    assert orders_table().get_item(Key={"order_id": first["order_id"]})["Item"] == stored
    assert orders_table().scan()["Count"] == 1
    again = place(customer="alice", request_id="1", total=10.0)  # the same payload, however the number is written
    assert again == first


def test_same_request_id_yields_the_same_order_written_once(aws):
    first = place(request_id="req-1")
    written = orders_table().get_item(Key={"order_id": first["order_id"]})["Item"]
    second = place(request_id="req-1")
    assert second == first
    assert orders_table().get_item(Key={"order_id": first["order_id"]})["Item"] == written
    assert orders_table().scan()["Count"] == 1
    assert place()["order_id"] != place()["order_id"], "without a request id every command is a new order"


def test_invalid_commands_return_every_error_and_write_nothing(aws):
    result = place_order.handler(
        {
            "customer_id": "",
            "items": [{"sku": "a", "qty": 0}, {"sku": "a", "qty": 1}, {"qty": 1}],
            "total": -3,
            "request_id": 7,
        },
        FakeLambdaContext(),
    )
    assert result == {
        "ok": False,
        "errors": [
            {"field": "customer_id", "message": "must be a non-empty string"},
            {"field": "items[0].qty", "message": "must be an integer >= 1"},
            {"field": "items[1].sku", "message": "duplicate sku 'a': list each sku once"},
            {"field": "items[2].sku", "message": "is required"},
            {"field": "total", "message": "must be a number > 0"},
            {"field": "request_id", "message": "must be a non-empty string"},
        ],
    }
    too_many = [{"sku": f"s{i}", "qty": 1} for i in range(26)]
    assert place_order.handler({"customer_id": "c", "items": too_many, "total": 1}, FakeLambdaContext())["errors"] == [
        {"field": "items", "message": "must have 1 to 25 items"}
    ]
    assert place_order.handler("nope", FakeLambdaContext())["ok"] is False  # type: ignore[arg-type]
    assert orders_table().scan()["Count"] == 0


# customer-summary projection ---------------------------------------------------------------------------------------


def history(aws) -> list[dict[str, Any]]:
    """Three orders for c-1 (one confirmed, one cancelled, one left pending), one for c-2 expired, one removed."""
    a, b, c = (place(request_id=r, total=t)["order_id"] for r, t in (("a", 100), ("b", 50.25), ("c", 10)))
    d = place(customer="c-2", request_id="d")["order_id"]
    set_status(a, "CONFIRMED")
    set_status(b, "CANCELLED", reason="PaymentDeclined")
    set_status(d, "EXPIRED")
    orders_table().update_item(  # a write that changes no status: no transition
        Key={"order_id": c}, UpdateExpression="SET note = :n", ExpressionAttributeValues={":n": "gift"}
    )
    orders_table().delete_item(Key={"order_id": c})
    return stream_records(aws["stream_arn"])


EXPECTED_C1 = {"placed": 3, "confirmed": 1, "cancelled": 1, "open_orders": 1, "confirmed_total": 100}
EXPECTED_C2 = {"placed": 1, "expired": 1, "open_orders": 0}


def test_projection_applies_each_transition(aws):
    records = history(aws)
    assert [r["eventName"] for r in records].count("REMOVE") == 1
    assert project(records) == {"batchItemFailures": []}
    assert summary("c-1") == EXPECTED_C1
    assert summary("c-2") == EXPECTED_C2


def test_the_same_batch_twice_changes_nothing(aws):
    records = history(aws)
    project(records)
    assert project(records) == {"batchItemFailures": []}
    assert summary("c-1") == EXPECTED_C1
    assert summary("c-2") == EXPECTED_C2


def test_records_in_reverse_order_converge(aws):
    records = history(aws)
    project(list(reversed(records[-4:])))  # finals first: open_orders goes negative for a while
    assert summary("c-1")["open_orders"] < 0
    project(list(reversed(records)))
    assert summary("c-1") == EXPECTED_C1
    assert summary("c-2") == EXPECTED_C2


def test_a_bad_record_fails_alone_by_sequence_number(aws):
    records = history(aws)
    broken = json.loads(json.dumps(records[0], default=str))
    del broken["dynamodb"]["NewImage"]["customer_id"]
    broken["dynamodb"]["SequenceNumber"] = "999"
    response = project([broken, *records[1:]])
    assert response == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    assert summary("c-1")["placed"] == 2, "the other records were applied"


# order-events publisher -------------------------------------------------------------------------------------------


def published(aws) -> list[tuple[str, dict[str, Any]]]:
    sqs = boto3.client("sqs", region_name=REGION)
    events = []
    while messages := sqs.receive_message(
        QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in messages:
            events.append((message["MessageAttributes"]["event_type"]["StringValue"], json.loads(message["Body"])))
            sqs.delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return events


def test_publisher_turns_transitions_into_domain_events(aws):
    records = history(aws)
    assert publisher.handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}
    events = published(aws)
    assert sorted(attribute for attribute, _ in events) == sorted(
        ["OrderPlaced"] * 4 + ["OrderConfirmed", "OrderCancelled", "OrderExpired"]
    )
    assert all(attribute == body["event_type"] for attribute, body in events)
    cancelled = next(body for attribute, body in events if attribute == "OrderCancelled")
    assert cancelled["reason"] == "PaymentDeclined"
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["total"] == 50.25 and isinstance(cancelled["total"], float)
    placed = next(body for attribute, body in events if attribute == "OrderPlaced")
    assert isinstance(placed["total"], int | float)
    assert set(placed) == {"event_type", "order_id", "customer_id", "total", "items", "status", "reason", "occurred_at"}
    assert placed["items"] == [{"sku": "sku-apple", "qty": 2}]


def test_publisher_batches_by_ten(aws, monkeypatch: pytest.MonkeyPatch):
    for i in range(23):
        place(request_id=f"r{i}")
    client = publisher._sns()
    calls: list[int] = []
    real = client.publish_batch

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["PublishBatchRequestEntries"]))
        return real(**kwargs)

    monkeypatch.setattr(client, "publish_batch", counting)
    assert publisher.handler({"Records": stream_records(aws["stream_arn"])}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert calls == [10, 10, 3]
    assert len(published(aws)) == 23


def test_publisher_reports_rejected_entries_by_sequence_number(aws, monkeypatch: pytest.MonkeyPatch):
    for i in range(3):
        place(request_id=f"r{i}")
    records = stream_records(aws["stream_arn"])
    client = publisher._sns()
    real = client.publish_batch

    def reject_second(**kwargs: Any) -> Any:
        entries = kwargs["PublishBatchRequestEntries"]
        response = real(**{**kwargs, "PublishBatchRequestEntries": [e for e in entries if e["Id"] != "e1"]})
        response["Failed"] = [{"Id": "e1", "Code": "InternalError", "Message": "try again", "SenderFault": False}]
        return response

    monkeypatch.setattr(client, "publish_batch", reject_second)
    response = publisher.handler({"Records": records}, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert len(published(aws)) == 2


def test_publisher_ignores_writes_without_transition_and_removes(aws):
    order_id = place(request_id="x")["order_id"]
    orders_table().update_item(
        Key={"order_id": order_id}, UpdateExpression="SET note = :n", ExpressionAttributeValues={":n": "gift"}
    )
    orders_table().delete_item(Key={"order_id": order_id})
    records = stream_records(aws["stream_arn"])
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert publisher.handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}
    assert [attribute for attribute, _ in published(aws)] == ["OrderPlaced"]


# records that can never be processed ------------------------------------------------------------------------------


@pytest.fixture
def failure_queue(aws, monkeypatch: pytest.MonkeyPatch) -> str:
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="projection-failures")["QueueUrl"]
    monkeypatch.setenv("FAILURE_QUEUE_URL", url)
    return url


def parked(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    return [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def malformed_then_valid(aws) -> list[dict[str, Any]]:
    orders_table().put_item(Item={"order_id": "o-bad", "status": "PENDING"})  # not written by place-order
    place(customer="c-9", request_id="after")
    return stream_records(aws["stream_arn"])


@pytest.mark.parametrize("projection", ["customer-summary", "publisher"])
def test_a_malformed_order_is_parked_with_its_content_and_the_shard_moves_on(aws, failure_queue, projection: str):
    records = malformed_then_valid(aws)
    handler = customer_summary.handler if projection == "customer-summary" else publisher.handler
    assert handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}
    [envelope] = parked(failure_queue)
    assert envelope["condition"] == "MalformedRecord"
    assert envelope["functionArn"] == FakeLambdaContext().invoked_function_arn
    assert "missing customer_id, total, items" in envelope["errorMessage"]
    assert envelope["records"] == [json.loads(json.dumps(records[0], default=str))], "the record, as received"
    if projection == "customer-summary":
        assert summary("c-9")["placed"] == 1, "the valid record after it is applied"
    else:
        assert [body["customer_id"] for _, body in published(aws)] == ["c-9"]


@pytest.mark.parametrize("projection", ["customer-summary", "publisher"])
def test_without_a_failure_queue_a_malformed_order_fails_and_is_retried(aws, projection: str, monkeypatch):
    monkeypatch.delenv("FAILURE_QUEUE_URL", raising=False)
    records = malformed_then_valid(aws)
    handler = customer_summary.handler if projection == "customer-summary" else publisher.handler
    response = handler({"Records": records}, FakeLambdaContext())
    assert response["batchItemFailures"] == [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]


@pytest.mark.parametrize("projection", ["customer-summary", "publisher"])
def test_a_record_whose_parking_fails_is_retried_never_dropped(aws, projection: str, monkeypatch):
    monkeypatch.setenv("FAILURE_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")
    records = malformed_then_valid(aws)
    handler = customer_summary.handler if projection == "customer-summary" else publisher.handler
    response = handler({"Records": records}, FakeLambdaContext())
    assert response["batchItemFailures"] == [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]


def test_publisher_reports_every_record_when_sns_is_down(aws, monkeypatch: pytest.MonkeyPatch):
    from botocore.exceptions import EndpointConnectionError

    for i in range(3):
        place(request_id=f"r{i}")
    records = stream_records(aws["stream_arn"])

    def down(**kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")

    monkeypatch.setattr(publisher._sns(), "publish_batch", down)
    response = publisher.handler({"Records": records}, FakeLambdaContext())
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["dynamodb"]["SequenceNumber"] for r in records
    ]
