"""The domain event carried on the order-events topic, parsed and validated from a raw SQS message body."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from handler_runtime.batch import SQSRecord, json_body
from handler_runtime.errors import MalformedMessage
from handler_runtime.validation import FieldReader, ValidationFailed

__all__ = ["EVENT_TYPES", "ORDER_ID_PATTERN", "OrderEvent", "parse_order_event"]

EVENT_TYPES = ("OrderPlaced", "OrderConfirmed", "OrderCancelled", "OrderExpired")
#: Also a valid Step Functions execution name (at most 80 characters of these).
ORDER_ID_PATTERN = r"[A-Za-z0-9_-]{1,80}"


@dataclass(frozen=True)
class OrderItem:
    sku: str
    qty: int


@dataclass(frozen=True)
class OrderEvent:
    event_type: str
    order_id: str
    customer_id: str
    total: Decimal
    items: tuple[OrderItem, ...]
    status: str
    reason: str | None
    occurred_at: str

    def checkout_input(self) -> dict[str, Any]:
        """The checkout saga's canonical input."""
        return {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "items": [{"sku": i.sku, "qty": i.qty} for i in self.items],
            "total": self.total,
        }


def parse_order_event(record: SQSRecord) -> OrderEvent:
    """The event in ``record``; :class:`MalformedMessage` (naming every bad field) when it is not one."""
    reader = FieldReader(json_body(record))
    event_type = reader.string("event_type")
    if event_type is not None and event_type not in EVENT_TYPES:
        reader.fail("event_type", f"must be one of {', '.join(EVENT_TYPES)}")
    order_id = reader.string("order_id", pattern=ORDER_ID_PATTERN)
    customer_id = reader.string("customer_id")
    total = reader.number("total", greater_than=0)
    items = []
    for item in reader.objects("items", min_items=1, max_items=25):
        sku, qty = item.string("sku"), item.integer("qty", minimum=1)
        if sku is not None and qty is not None:
            items.append(OrderItem(sku, qty))
    status = reader.string("status")
    reason = reader.string("reason", required=False)
    occurred_at = reader.string("occurred_at")
    try:
        reader.raise_if_invalid()
    except ValidationFailed as invalid:
        raise MalformedMessage(f"message {record.message_id} is not an order event: {invalid}") from invalid
    assert event_type and order_id and customer_id and total is not None and status and occurred_at
    return OrderEvent(event_type, order_id, customer_id, total, tuple(items), status, reason, occurred_at)
