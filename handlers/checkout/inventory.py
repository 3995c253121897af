"""reserve-inventory and release-inventory.

Reserve takes every item's stock and records the reservation in one transaction, conditional on the order still
being PENDING: all or nothing. Release puts the stock back once: the reservation moves RESERVED → RELEASED in the
same transaction, so a repeated release (or the release of a reservation that never happened) changes nothing;
the same transaction checks that the order is not CONFIRMED (a compensation never undoes a confirmed order).
"""

from __future__ import annotations

import os
from typing import Any

from checkout.errors import OrderNotPending, OutOfStock
from checkout.state import cancellation_codes, compensate, dynamodb, parse_checkout, status_change
from handler_runtime.errors import raise_transient_aws_errors
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import utc_now

__all__ = ["release", "reserve"]


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def reserve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checkout = parse_checkout(event)
    client = dynamodb()
    actions: list[dict[str, Any]] = [
        {
            "ConditionCheck": {
                "TableName": os.environ["ORDERS_TABLE"],
                "Key": {"order_id": {"S": checkout.order_id}},
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":pending": {"S": "PENDING"}},
            }
        },
        {
            "Put": {
                "TableName": os.environ["RESERVATIONS_TABLE"],
                "Item": {
                    "order_id": {"S": checkout.order_id},
                    "status": {"S": "RESERVED"},
                    "items": {"M": {sku: {"N": str(qty)} for sku, qty in checkout.items.items()}},
                    "reserved_at": {"S": utc_now()},
                },
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        },
    ]
    actions += [
        {
            "Update": {
                "TableName": os.environ["INVENTORY_TABLE"],
                "Key": {"sku": {"S": sku}},
                "UpdateExpression": "SET available = available - :qty",
                "ConditionExpression": "attribute_exists(sku) AND available >= :qty",
                "ExpressionAttributeValues": {":qty": {"N": str(qty)}},
            }
        }
        for sku, qty in sorted(checkout.items.items())
    ]
    try:
        client.transact_write_items(TransactItems=actions)
    except client.exceptions.TransactionCanceledException as cancelled:
        codes = cancellation_codes(cancelled)
        if codes[0] == "ConditionalCheckFailed":
            raise OrderNotPending(f"order {checkout.order_id} is no longer PENDING") from cancelled
        if codes[1] == "ConditionalCheckFailed":
            logger.info("already reserved", extra={"order_id": checkout.order_id})
            return {"reserved": True}
        short = [
            sku
            for sku, code in zip(sorted(checkout.items), codes[2:], strict=False)
            if code == "ConditionalCheckFailed"
        ]
        if short:
            raise OutOfStock(f"not enough stock for {', '.join(short)}") from cancelled
        raise
    metrics.add_metric(name="InventoryReserved", unit="Count", value=1)
    return {"reserved": True}


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def release(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checkout = parse_checkout(event)
    client = dynamodb()
    reservation = client.get_item(
        TableName=os.environ["RESERVATIONS_TABLE"], Key={"order_id": {"S": checkout.order_id}}, ConsistentRead=True
    ).get("Item")
    if reservation is None or reservation["status"]["S"] != "RESERVED":
        logger.info("nothing to release", extra={"order_id": checkout.order_id})
        return {"released": False}
    reserved = {sku: value["N"] for sku, value in reservation["items"]["M"].items()}
    restock = [
        {
            "Update": {
                "TableName": os.environ["INVENTORY_TABLE"],
                "Key": {"sku": {"S": sku}},
                "UpdateExpression": "ADD available :qty",
                "ExpressionAttributeValues": {":qty": {"N": qty}},
            }
        }
        for sku, qty in sorted(reserved.items())
    ]
    released = status_change("RESERVATIONS_TABLE", checkout.order_id, "RESERVED", "RELEASED", "released_at")
    if not compensate(checkout.order_id, released, *restock):
        logger.info("already released", extra={"order_id": checkout.order_id})
        return {"released": False}
    metrics.add_metric(name="InventoryReleased", unit="Count", value=1)
    return {"released": True}
