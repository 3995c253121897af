"""The order write model's vocabulary: statuses, and the transitions a stream record carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handler_runtime.batch import DynamoDBRecord

__all__ = ["EVENT_FOR_STATUS", "FINAL_STATUSES", "PENDING", "Transition", "transition_of"]

PENDING = "PENDING"
FINAL_STATUSES = ("CONFIRMED", "CANCELLED", "EXPIRED")
EVENT_FOR_STATUS = {
    PENDING: "OrderPlaced",
    "CONFIRMED": "OrderConfirmed",
    "CANCELLED": "OrderCancelled",
    "EXPIRED": "OrderExpired",
}


@dataclass(frozen=True)
class Transition:
    """``placed`` (INSERT) or ``confirmed``/``cancelled``/``expired`` (PENDING → final), with the new image."""

    name: str
    order: dict[str, Any]

    @property
    def order_id(self) -> str:
        return str(self.order["order_id"])

    @property
    def event_type(self) -> str:
        return EVENT_FOR_STATUS[str(self.order["status"])]


def transition_of(record: DynamoDBRecord) -> Transition | None:
    """The domain transition in ``record``, or None (a REMOVE, or a write that changes no status)."""
    event = record.event_name.name if record.event_name is not None else ""
    stream = record.dynamodb
    new = stream.new_image if stream is not None else {}
    old = stream.old_image if stream is not None else {}
    if event == "INSERT" and new:
        return Transition("placed", new)
    if event == "MODIFY" and old.get("status") == PENDING and new.get("status") in FINAL_STATUSES:
        return Transition(str(new["status"]).lower(), new)
    return None
