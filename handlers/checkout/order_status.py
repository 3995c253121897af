"""confirm-order and mark-cancelled: the saga's writes to the order, conditional on it being PENDING.

Final states never change. Confirming an order already CONFIRMED is success (a retry); any other final state
raises OrderNotPending, so an order that expired meanwhile is never confirmed and the saga compensates.
mark-cancelled records the error name as the reason and does nothing to an order already final.
"""

from __future__ import annotations

from typing import Any

from checkout.errors import OrderNotPending
from checkout.state import table
from handler_runtime.errors import raise_transient_aws_errors
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import utc_now
from handler_runtime.validation import FieldReader

__all__ = ["confirm", "finalize_write", "mark_cancelled"]


def finalize_write(order_id: str, status: str, reason: str | None = None) -> bool:
    """PENDING → ``status``; True when written, False when the order was not PENDING (or does not exist)."""
    orders = table("ORDERS_TABLE")
    expression = "SET #s = :final, updated_at = :now, version = if_not_exists(version, :zero) + :one"
    values: dict[str, Any] = {":final": status, ":pending": "PENDING", ":now": utc_now(), ":zero": 0, ":one": 1}
    if reason is not None:
        expression += ", reason = :reason"
        values[":reason"] = reason
    try:
        orders.update_item(
            Key={"order_id": order_id},
            UpdateExpression=expression,
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )
    except orders.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _order_id(event: object) -> str:
    reader = FieldReader(event)
    order_id = reader.string("order_id")
    reader.raise_if_invalid()
    assert order_id is not None
    return order_id


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def confirm(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = _order_id(event)
    if finalize_write(order_id, "CONFIRMED"):
        metrics.add_metric(name="OrdersConfirmed", unit="Count", value=1)
        return {"status": "CONFIRMED"}
    current = table("ORDERS_TABLE").get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item", {})
    if current.get("status") == "CONFIRMED":
        return {"status": "CONFIRMED"}
    raise OrderNotPending(f"order {order_id} is {current.get('status', 'missing')}, not PENDING")


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def mark_cancelled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = _order_id(event)
    error = event.get("error") or {}
    reason = str(error.get("Error") or "Unknown")
    if finalize_write(order_id, "CANCELLED", reason):
        metrics.add_metric(name="OrdersCancelled", unit="Count", value=1)
        return {"status": "CANCELLED", "reason": reason}
    logger.info("order already final; left as it is", extra={"order_id": order_id, "reason": reason})
    return {"status": "UNCHANGED", "reason": reason}
