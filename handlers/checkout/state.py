"""The saga state every step receives: the canonical checkout input (plus what earlier states added)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import boto3

from checkout.errors import OrderAlreadyConfirmed
from handler_runtime.errors import MalformedMessage
from handler_runtime.records import utc_now
from handler_runtime.validation import FieldReader, ValidationFailed

__all__ = [
    "Checkout",
    "cancellation_codes",
    "compensate",
    "dynamodb",
    "not_confirmed_check",
    "parse_checkout",
    "status_change",
    "table",
]


@dataclass(frozen=True)
class Checkout:
    order_id: str
    customer_id: str
    items: dict[str, int]  # sku → quantity (duplicates merged: one transaction action per item)
    total: Decimal


def parse_checkout(state: object) -> Checkout:
    reader = FieldReader(state)
    order_id = reader.string("order_id")
    customer_id = reader.string("customer_id")
    items: dict[str, int] = {}
    for item in reader.objects("items", min_items=1, max_items=25):
        sku, qty = item.string("sku"), item.integer("qty", minimum=1)
        if sku is not None and qty is not None:
            items[sku] = items.get(sku, 0) + qty
    total = reader.number("total", greater_than=0)
    try:
        reader.raise_if_invalid()
    except ValidationFailed as invalid:
        raise MalformedMessage(f"not a checkout input: {invalid}") from invalid
    assert order_id and customer_id and total is not None
    return Checkout(order_id, customer_id, items, total)


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb")


@cache
def table(env_var: str) -> Any:
    resource: Any = boto3.resource("dynamodb")
    return resource.Table(os.environ[env_var])


def cancellation_codes(error: Any) -> list[str]:
    """The per-item codes of a cancelled transaction ('None' where the item was fine)."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def not_confirmed_check(order_id: str) -> dict[str, Any]:
    """A transaction item that holds only while the order is not CONFIRMED: every compensation writes with it, so
    nothing ever refunds or releases a confirmed order, whatever the saga asks."""
    return {
        "ConditionCheck": {
            "TableName": os.environ["ORDERS_TABLE"],
            "Key": {"order_id": {"S": order_id}},
            "ConditionExpression": "attribute_not_exists(order_id) OR #s <> :confirmed",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":confirmed": {"S": "CONFIRMED"}},
        }
    }


def status_change(env_var: str, order_id: str, before: str, after: str, stamp: str) -> dict[str, Any]:
    """A transaction item moving a record keyed by ``order_id`` from ``before`` to ``after`` (and stamping when)."""
    return {
        "Update": {
            "TableName": os.environ[env_var],
            "Key": {"order_id": {"S": order_id}},
            "UpdateExpression": f"SET #s = :after, {stamp} = :now",
            "ConditionExpression": "#s = :before",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":after": {"S": after}, ":before": {"S": before}, ":now": {"S": utc_now()}},
        }
    }


def compensate(order_id: str, undo: dict[str, Any], *more: dict[str, Any]) -> bool:
    """A compensation's writes in one transaction: ``undo`` (conditional on the state it undoes) and ``more``,
    guarded by :func:`not_confirmed_check`. True when written; False when there was nothing to undo (never done,
    or undone already); raises :class:`OrderAlreadyConfirmed` for a confirmed order."""
    client = dynamodb()
    try:
        client.transact_write_items(TransactItems=[not_confirmed_check(order_id), undo, *more])
    except client.exceptions.TransactionCanceledException as cancelled:
        codes = cancellation_codes(cancelled)
        if codes[0] == "ConditionalCheckFailed":
            raise OrderAlreadyConfirmed(f"order {order_id} is CONFIRMED: it is never compensated") from cancelled
        if codes[1] == "ConditionalCheckFailed":
            return False
        raise
    return True
