"""Helpers of the local cloud tests: placing orders, reading tables and queues, naming functions."""

from __future__ import annotations

import json
from typing import Any

from localcloud.engine import LocalCloud


def place(
    cloud: LocalCloud, request_id: str, items: dict[str, int] | None = None, total: float = 120, customer: str = "c-1"
) -> dict[str, Any]:
    command = {
        "customer_id": customer,
        "items": [{"sku": s, "qty": q} for s, q in (items or {"sku-apple": 1}).items()],
        "total": total,
        "request_id": request_id,
    }
    invocation = cloud.invoke(cloud.outputs["place_order_function"], command)
    assert invocation.error is None
    return invocation.result


def order(cloud: LocalCloud, order_id: str) -> dict[str, Any]:
    item = cloud.client("dynamodb").get_item(TableName=cloud.outputs["orders_table"], Key={"order_id": {"S": order_id}})
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def messages(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        found.extend(_body(m["Body"]) for m in batch)
    return found


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def function(logical: str) -> str:
    """Physical function name of a logical Function component name (e.g. orders-place-order)."""
    return f"serverless-orders-dev-{logical}"


FULFILMENT = function("order-events-fulfilment-consumer")
SUMMARY = function("orders-customer-summary-projection")
EXPIRE = function("expire-orders-function")


def invocations(cloud: LocalCloud, name: str) -> list[Any]:
    return [i for i in cloud.stats.invocations if i.function == name]


def publish(cloud: LocalCloud, body: str, event_type: str = "OrderPlaced") -> None:
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["order_events_topic_arn"],
        Message=body,
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
    )


def queue_url(cloud: LocalCloud, subscriber: str) -> str:
    return cloud.outputs["subscriber_dlq_urls"][subscriber].removesuffix("-dlq")
