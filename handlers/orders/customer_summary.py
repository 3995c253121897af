"""customer-summary projection: the customer-orders read model, each transition applied exactly once.

Each transition (placed, or PENDING → CONFIRMED/CANCELLED/EXPIRED) puts a marker ``<order_id>#<transition>``
and updates the customer's counters in one transaction, conditional on the marker not existing. However often
and in whatever order stream records arrive, the counters converge (``open_orders`` may be briefly negative
while records are reordered). REMOVE records are logged and counted only: the application never deletes orders.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import DynamoDBRecord, process_stream_batch
from handler_runtime.observability import instrumented, logger, metrics, tracer
from handler_runtime.records import utc_now
from orders.model import Transition, transition_of

__all__ = ["COUNTER_CHANGES", "handler"]

#: counter → change, per transition.
COUNTER_CHANGES: dict[str, dict[str, int]] = {
    "placed": {"placed": 1, "open_orders": 1},
    "confirmed": {"confirmed": 1, "open_orders": -1},
    "cancelled": {"cancelled": 1, "open_orders": -1},
    "expired": {"expired": 1, "open_orders": -1},
}


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb")


def _counter_update(transition: Transition) -> dict[str, Any]:
    changes: dict[str, Decimal] = {k: Decimal(v) for k, v in COUNTER_CHANGES[transition.name].items()}
    if transition.name == "confirmed":
        changes["confirmed_total"] = Decimal(str(transition.order["total"]))
    names = {f"#c{i}": counter for i, counter in enumerate(changes)}
    values = {f":v{i}": {"N": str(change)} for i, change in enumerate(changes.values())}
    return {
        "TableName": os.environ["CUSTOMER_ORDERS_TABLE"],
        "Key": {"customer_id": {"S": str(transition.order["customer_id"])}},
        "UpdateExpression": "ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(changes))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


@tracer.capture_method
def apply(record: DynamoDBRecord) -> None:
    if record.event_name is not None and record.event_name.name == "REMOVE":
        logger.warning("order removed from the write model; the read model keeps its counts")
        metrics.add_metric(name="OrdersRemoved", unit="Count", value=1)
        return
    transition = transition_of(record)
    if transition is None:
        return
    marker = f"{transition.order_id}#{transition.name}"
    client = _dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": os.environ["PROJECTION_MARKERS_TABLE"],
                        "Item": {"marker": {"S": marker}, "applied_at": {"S": utc_now()}},
                        "ConditionExpression": "attribute_not_exists(marker)",
                    }
                },
                {"Update": _counter_update(transition)},
            ]
        )
    except client.exceptions.TransactionCanceledException as cancelled:
        reasons = cancelled.response.get("CancellationReasons", [])
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            logger.info("transition already applied", extra={"marker": marker})
            return
        raise
    metrics.add_metric(name="TransitionsApplied", unit="Count", value=1)


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_stream_batch(event, context, apply))
