"""expire-orders: PENDING orders older than the TTL become EXPIRED.

Reads the status GSI (status = PENDING, created_at before the cutoff) page by page and expires each order with a
write conditional on it still being PENDING, so a saga that finished meanwhile, or an overlapping run, is never
overwritten. The cutoff is computed from the run's scheduled time (not the wall clock), and the run is idempotent
on that time: a retried or duplicated delivery of the same run does nothing twice. It stops cleanly before the
Lambda timeout and leaves the rest to the next run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handler_runtime.errors import is_transient, raise_transient_aws_errors
from handler_runtime.idempotency import Idempotency
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import utc_now
from handler_runtime.validation import FieldReader

__all__ = ["SAFETY_MARGIN_MS", "expire_pending_orders", "handler"]

SAFETY_MARGIN_MS = 10_000  # stop when less than this is left before the Lambda timeout
PAGE_SIZE = 100
_once = Idempotency("scheduled_time")


@cache
def _orders() -> Any:
    resource: Any = boto3.resource("dynamodb")
    return resource.Table(os.environ["ORDERS_TABLE"])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _expire(order_id: str) -> bool | None:
    """True when expired, False when it became final meanwhile, None when this order cannot be written (logged
    and left for a human: one bad order must not stop every run). Transient errors propagate: the run retries."""
    orders = _orders()
    try:
        orders.update_item(
            Key={"order_id": order_id},
            UpdateExpression="SET #s = :expired, updated_at = :now, version = if_not_exists(version, :zero) + :one",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":expired": "EXPIRED",
                ":pending": "PENDING",
                ":now": utc_now(),
                ":zero": 0,
                ":one": 1,
            },
        )
    except orders.meta.client.exceptions.ConditionalCheckFailedException:
        return False  # it became final meanwhile (confirmed, cancelled, or expired by another run)
    except ClientError as error:
        if is_transient(error):
            raise
        logger.exception("order cannot be expired; skipped", extra={"order_id": order_id})
        return None
    return True


def expire_pending_orders(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    cutoff = _iso(scheduled_time - timedelta(minutes=int(os.environ["PENDING_ORDER_TTL_MINUTES"])))
    query: dict[str, Any] = {
        "IndexName": os.environ["STATUS_INDEX"],
        "KeyConditionExpression": "#s = :pending AND created_at < :cutoff",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":pending": "PENDING", ":cutoff": cutoff},
        "ProjectionExpression": "order_id",
        "Limit": PAGE_SIZE,
    }
    expired = examined = failed = 0
    complete = True
    while True:
        page = _orders().query(**query)
        for item in page.get("Items", []):
            if context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS:
                complete = False
                break
            examined += 1
            outcome = _expire(item["order_id"])
            expired += outcome is True
            failed += outcome is None
        if not complete or "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    metrics.add_metric(name="OrdersExpired", unit="Count", value=expired)
    if failed:
        metrics.add_metric(name="OrdersNotExpired", unit="Count", value=failed)
    summary = {"expired": expired, "failed": failed, "examined": examined, "complete": complete, "cutoff": cutoff}
    logger.info("expiry run", extra=summary)
    return summary


@_once.function
def _run_once(payload: dict[str, Any], context: Any) -> dict[str, Any]:
    scheduled_time = datetime.fromisoformat(payload["scheduled_time"].replace("Z", "+00:00"))
    return expire_pending_orders(scheduled_time, context)


@instrumented(correlation_id_path="scheduled_time")
@raise_transient_aws_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reader = FieldReader(event)
    scheduled = reader.string(
        "scheduled_time", pattern=r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
    )
    reader.raise_if_invalid()
    assert scheduled is not None
    _once.register(context)
    return _run_once(payload={"scheduled_time": scheduled}, context=context)
