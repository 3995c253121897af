"""place-order: validate the command and write the order PENDING, once per request id.

Invalid input returns ``{"ok": false, "errors": [...]}`` and writes nothing (no exception: nothing retries it).
With a ``request_id``, the order id is derived from the customer and the request id together (two customers never
share an order), and the put is conditional on the id being new, so a retried request yields the same order,
written once. The same request id from the same customer with another payload is refused on ``request_id``: it
is a client bug, and answering with the first order would silently drop the second.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import boto3

from handler_runtime.json_codec import dumps
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import put_once, utc_now
from handler_runtime.validation import FieldReader, ValidationFailed
from orders.model import PENDING

__all__ = ["PlaceOrder", "handler", "order_id_for", "parse_command", "same_payload"]

MAX_SKUS = 25
_TEXT = r"[A-Za-z0-9][A-Za-z0-9._:@-]*"


@dataclass(frozen=True)
class PlaceOrder:
    customer_id: str
    items: list[dict[str, Any]]
    total: Decimal
    request_id: str | None


def parse_command(event: object) -> PlaceOrder:
    reader = FieldReader(event)
    customer_id = reader.string("customer_id", pattern=_TEXT, max_length=128)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in reader.objects("items", min_items=1, max_items=MAX_SKUS):
        sku = item.string("sku", pattern=_TEXT, max_length=64)
        qty = item.integer("qty", minimum=1)
        if sku is not None and sku in seen:
            item.fail("sku", f"duplicate sku {sku!r}: list each sku once")
            continue
        if sku is not None:
            seen.add(sku)
            if qty is not None:
                items.append({"sku": sku, "qty": qty})
    total = reader.number("total", greater_than=0)
    request_id = reader.string("request_id", required=False, max_length=128)
    reader.raise_if_invalid()
    assert customer_id is not None and total is not None
    return PlaceOrder(customer_id, items, total, request_id)


def order_id_for(customer_id: str, request_id: str | None) -> str:
    """Deterministic for a customer's request id (a retry finds its order), random otherwise."""
    if request_id is None:
        return f"o-{uuid.uuid4().hex}"
    return "o-" + hashlib.sha256(json.dumps([customer_id, request_id]).encode()).hexdigest()[:32]


def same_payload(stored: dict[str, Any], command: PlaceOrder) -> bool:
    """Whether a stored order was written by this command (items in any order; 10 and 10.0 are one total)."""

    def canonical(items: list[dict[str, Any]], total: Any) -> str:
        listed = sorted((str(i["sku"]), int(i["qty"])) for i in items)
        return dumps({"items": listed, "total": Decimal(str(total)).normalize()})

    return stored.get("customer_id") == command.customer_id and canonical(
        stored.get("items", []), stored.get("total", 0)
    ) == canonical(command.items, command.total)


@cache
def _orders() -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ["WRITE_TABLE"])


@instrumented(correlation_id_path="request_id")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        command = parse_command(event)
    except ValidationFailed as invalid:
        logger.info("invalid command", extra={"errors": [e.as_dict() for e in invalid.errors]})
        metrics.add_metric(name="OrdersRejected", unit="Count", value=1)
        return {"ok": False, "errors": [e.as_dict() for e in invalid.errors]}
    order_id = order_id_for(command.customer_id, command.request_id)
    now = utc_now()
    order = {
        "order_id": order_id,
        "customer_id": command.customer_id,
        "items": command.items,
        "total": command.total,
        "status": PENDING,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    if put_once(_orders(), order, "order_id"):
        metrics.add_metric(name="OrdersPlaced", unit="Count", value=1)
        logger.info("order placed", extra={"order_id": order_id})
        return {"ok": True, "order_id": order_id}
    stored = _orders().get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item", {})
    if not same_payload(stored, command):
        logger.info("request id reused with another payload", extra={"order_id": order_id})
        metrics.add_metric(name="OrdersRejected", unit="Count", value=1)
        message = "already used for another order by this customer: send a new request_id for a new order"
        return {"ok": False, "errors": [{"field": "request_id", "message": message}]}
    logger.info("order already placed for this request", extra={"order_id": order_id})
    return {"ok": True, "order_id": order_id}
