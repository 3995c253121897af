"""big-orders: OrderPlaced with total >= 500 (filtered on the message body) → EMF metric ``BigOrders``.

A metric has no conditional write, so the order id goes through the idempotency table first: the metric is
emitted — and flushed at once, not at the end of the batch — only when the order is recorded for the first time.
A redelivered event (even one redriven from the DLQ days later: the records outlive the redelivery window) counts
nothing twice, and a failure to record counts nothing yet (the redelivery does).
"""

from __future__ import annotations

from typing import Any

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.idempotency import Idempotency
from handler_runtime.observability import instrumented, logger, metrics, tracer
from order_events.events import parse_order_event

__all__ = ["handler"]

_once = Idempotency("order_id")
_first_time = _once.first_time("count_big_order")


@tracer.capture_method
def record_big_order(record: SQSRecord) -> None:
    event = parse_order_event(record)
    if not _first_time({"order_id": event.order_id}):
        logger.info("big order already counted", extra={"order_id": event.order_id})
        return
    metrics.add_metric(name="BigOrders", unit="Count", value=1)
    metrics.add_metric(name="BigOrderValue", unit="None", value=float(event.total))
    metrics.flush_metrics()  # now: a timeout later in the batch must not lose a count its record already holds
    logger.info("big order", extra={"order_id": event.order_id, "total": str(event.total)})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _once.register(context)
    return dict(process_sqs_batch(event, context, record_big_order))
