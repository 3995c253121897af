"""invoicing: OrderConfirmed → one invoice per order (conditional put)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.observability import instrumented, logger, metrics, tracer
from handler_runtime.records import put_once, utc_now
from order_events.events import parse_order_event

__all__ = ["handler"]


@cache
def _invoices() -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ["INVOICES_TABLE"])


@tracer.capture_method
def issue_invoice(record: SQSRecord) -> None:
    event = parse_order_event(record)
    if event.event_type != "OrderConfirmed":
        logger.warning("ignored: invoicing only handles OrderConfirmed", extra={"event_type": event.event_type})
        return
    item = {"order_id": event.order_id, "customer_id": event.customer_id, "total": event.total, "issued_at": utc_now()}
    if put_once(_invoices(), item, "order_id"):
        metrics.add_metric(name="InvoicesIssued", unit="Count", value=1)
        logger.info("invoice issued", extra={"order_id": event.order_id})
    else:
        logger.info("invoice already issued", extra={"order_id": event.order_id})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, issue_invoice))
