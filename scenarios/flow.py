"""The functions of the orders flow by role, and the fault kinds that apply to each (fault matrix, chaos run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.engine import LocalCloud

__all__ = ["BATCH_ROLES", "ROLES", "SAGA_ROLES", "FlowFunctions", "kinds_for"]

#: role → the logical name its Function block carries (the physical name is ``<project>-<stack>-<logical>``).
ROLES = {
    "place-order": "orders-place-order",
    "customer-summary": "orders-customer-summary-projection",
    "publisher": "orders-order-events-projection",
    "fulfilment": "order-events-fulfilment-consumer",
    "invoicing": "order-events-invoicing-consumer",
    "notifications": "order-events-notifications-consumer",
    "big-orders": "order-events-big-orders-consumer",
    "reserve-inventory": "checkout-reserve-inventory",
    "release-inventory": "checkout-reserve-inventory-compensation",
    "charge-payment": "checkout-charge-payment",
    "refund-payment": "checkout-charge-payment-compensation",
    "confirm-order": "checkout-confirm-order",
    "mark-cancelled": "checkout-final",
    "expire-orders": "expire-orders-function",
}
STREAM_ROLES = ("customer-summary", "publisher")
SUBSCRIBER_ROLES = ("fulfilment", "invoicing", "notifications", "big-orders")
BATCH_ROLES = STREAM_ROLES + SUBSCRIBER_ROLES
SAGA_ROLES = (
    "reserve-inventory",
    "release-inventory",
    "charge-payment",
    "refund-payment",
    "confirm-order",
    "mark-cancelled",
)
_EVERY_INVOCATION = ("error_before", "error_after", "timeout_after", "throttle", "duplicate")


def kinds_for(role: str) -> tuple[str, ...]:
    """The fault kinds that apply to a role: a batch can be reordered; every function can get a poison."""
    return _EVERY_INVOCATION + (("reorder",) if role in BATCH_ROLES else ()) + ("poison",)


@dataclass(frozen=True)
class FlowFunctions:
    """Physical function names of the orders flow in a deployed stack, by role."""

    names: dict[str, str]

    @classmethod
    def of(cls, cloud: LocalCloud) -> FlowFunctions:
        deployed = list(cloud.deployment.functions)
        names: dict[str, str] = {}
        for role, logical in ROLES.items():
            matches = [name for name in deployed if name.endswith(f"-{logical}")]
            if len(matches) != 1:
                raise LookupError(f"the stack has no single function for {role} (…-{logical}): {matches}")
            names[role] = matches[0]
        return cls(names)

    def __getitem__(self, role: str) -> str:
        return self.names[role]

    def role_of(self, function: str) -> str | None:
        return next((role for role, name in self.names.items() if name == function), None)

    def random_fault_kinds(self, function: str, event: Any) -> tuple[str, ...]:
        """What a random fault may do to this invocation: the invocation-level kinds (poison messages are sent by
        the campaign itself, except corrupted saga task inputs)."""
        role = self.role_of(function)
        if role is None:
            return ()
        kinds = _EVERY_INVOCATION + (("reorder",) if role in BATCH_ROLES else ())
        return kinds + (("poison",) if role in SAGA_ROLES else ())
