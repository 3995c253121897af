"""big-orders: OrderPlaced with total >= 500 (filtered on the message body) → EMF metric ``BigOrders``.

A metric has no conditional write, so the order id goes through the idempotency table: a redelivered event
returns the stored result and counts nothing twice.
"""

from __future__ import annotations

from typing import Any

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.idempotency import Idempotency
from handler_runtime.observability import instrumented, logger, metrics, tracer
from order_events.events import parse_order_event

__all__ = ["handler"]

_once = Idempotency("order_id")


@_once.function
def count_big_order(payload: dict[str, Any]) -> dict[str, Any]:
    metrics.add_metric(name="BigOrders", unit="Count", value=1)
    metrics.add_metric(name="BigOrderValue", unit="None", value=float(payload["total"]))
    logger.info("big order", extra=payload)
    return {"counted": payload["order_id"]}


@tracer.capture_method
def record_big_order(record: SQSRecord) -> None:
    event = parse_order_event(record)
    count_big_order(payload={"order_id": event.order_id, "total": str(event.total)})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _once.register(context)
    return dict(process_sqs_batch(event, context, record_big_order))
