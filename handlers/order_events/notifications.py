"""notifications: OrderConfirmed, OrderCancelled, OrderExpired → one notification per order and event type."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.observability import instrumented, logger, metrics, tracer
from handler_runtime.records import put_once, utc_now
from order_events.events import parse_order_event

__all__ = ["NOTIFIED_EVENTS", "handler"]

NOTIFIED_EVENTS = ("OrderConfirmed", "OrderCancelled", "OrderExpired")


@cache
def _notifications() -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ["NOTIFICATIONS_TABLE"])


@tracer.capture_method
def notify(record: SQSRecord) -> None:
    event = parse_order_event(record)
    if event.event_type not in NOTIFIED_EVENTS:
        logger.warning("ignored: not a notified event", extra={"event_type": event.event_type})
        return
    item = {
        "order_id": event.order_id,
        "event_type": event.event_type,
        "customer_id": event.customer_id,
        "created_at": utc_now(),
    }
    if put_once(_notifications(), item, "order_id"):  # the key is (order_id, event_type): once per pair
        metrics.add_metric(name="NotificationsSent", unit="Count", value=1)
    else:
        logger.info("already notified", extra={"order_id": event.order_id, "event_type": event.event_type})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, notify))
