"""The order write model's vocabulary: statuses, and the transitions a stream record carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handler_runtime.batch import DynamoDBRecord
from handler_runtime.errors import MalformedMessage

__all__ = ["EVENT_FOR_STATUS", "FINAL_STATUSES", "PENDING", "REQUIRED_ATTRIBUTES", "Transition", "transition_of"]

PENDING = "PENDING"
FINAL_STATUSES = ("CONFIRMED", "CANCELLED", "EXPIRED")
EVENT_FOR_STATUS = {
    PENDING: "OrderPlaced",
    "CONFIRMED": "OrderConfirmed",
    "CANCELLED": "OrderCancelled",
    "EXPIRED": "OrderExpired",
}
#: What every consumer of a transition reads from the order.
REQUIRED_ATTRIBUTES = ("order_id", "customer_id", "total", "items", "status")


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
    """The domain transition in ``record``, or None (a REMOVE, or a write that changes no status).

    Raises :class:`MalformedMessage` when the record is a transition of an order that lacks what every consumer
    needs (an order written by something other than place-order): it can never be processed.
    """
    event = record.event_name.name if record.event_name is not None else ""
    stream = record.dynamodb
    new = stream.new_image if stream is not None else {}
    old = stream.old_image if stream is not None else {}
    transition: Transition | None = None
    if event == "INSERT" and new:
        transition = Transition("placed", new)
    elif event == "MODIFY" and old.get("status") == PENDING and new.get("status") in FINAL_STATUSES:
        transition = Transition(str(new["status"]).lower(), new)
    if transition is not None:
        missing = [k for k in REQUIRED_ATTRIBUTES if new.get(k) in (None, "")]
        if missing or new.get("status") not in EVENT_FOR_STATUS:
            problem = f"missing {', '.join(missing)}" if missing else f"unknown status {new.get('status')!r}"
            raise MalformedMessage(f"order {new.get('order_id', '?')} is not a valid order: {problem}")
    return transition
