"""The contract's invariant checker on hand-made snapshots: it must catch every way an order can go wrong."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from scenarios.invariants import Snapshot, violations


def order(order_id: str, status: str, customer: str = "c", total: int = 10, qty: int = 1) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "status": status,
        "total": Decimal(total),
        "items": [{"sku": "apple", "qty": Decimal(qty)}],
    }


def healthy() -> Snapshot:
    """One confirmed and one cancelled order, with exactly their effects."""
    return Snapshot(
        orders={"o1": order("o1", "CONFIRMED", total=600, qty=2), "o2": order("o2", "CANCELLED")},
        payments={"o1": {"status": "CHARGED"}, "o2": {"status": "REFUNDED"}},
        reservations={"o1": {"status": "RESERVED"}, "o2": {"status": "RELEASED"}},
        invoices={"o1": {"order_id": "o1"}},
        notifications={"o1": {"OrderConfirmed"}, "o2": {"OrderCancelled"}},
        read_model={
            "c": {
                "placed": 2,
                "confirmed": 1,
                "cancelled": 1,
                "expired": 0,
                "open_orders": 0,
                "confirmed_total": Decimal(600),
            }
        },
        inventory={"apple": 8},
    )


def test_a_healthy_snapshot_has_no_violation():
    assert violations(healthy(), ["o1", "o2"], initial_stock={"apple": 10}, big_orders_counted=1) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda s: s.payments.update(o2={"status": "CHARGED"}), "o2: CANCELLED with payment CHARGED"),
        (lambda s: s.payments.update(o1={"status": "REFUNDED"}), "o1: CONFIRMED with payment REFUNDED"),
        (lambda s: s.reservations.update(o2={"status": "RESERVED"}), "o2: CANCELLED with payment REFUNDED"),
        (lambda s: s.invoices.pop("o1"), "o1: CONFIRMED without an invoice"),
        (lambda s: s.invoices.update(o2={}), "o2: invoiced although CANCELLED"),
        (lambda s: s.notifications.update(o2={"OrderCancelled", "OrderConfirmed"}), "o2: CANCELLED notified as"),
        (lambda s: s.notifications.pop("o1"), "o1: CONFIRMED notified as nothing"),
        (lambda s: s.orders["o2"].update(status="PENDING"), "o2: still PENDING"),
        (lambda s: s.orders.pop("o2"), "o2: accepted but never written"),
        (lambda s: s.read_model["c"].update(placed=3), "read model c.placed = 3, the orders say 2"),
        (lambda s: s.read_model["c"].update(confirmed_total=Decimal(1)), "read model c.confirmed_total = 1"),
        (lambda s: s.inventory.update(apple=9), "stock of apple is 9; 10 - 2 confirmed = 8"),
        (lambda s: s.inventory.update(apple=-1), "stock of apple is negative: -1"),
    ],
)
def test_every_broken_effect_is_named(break_it, expected: str):
    snapshot = healthy()
    break_it(snapshot)
    found = violations(snapshot, ["o1", "o2"], initial_stock={"apple": 10}, big_orders_counted=1)
    assert any(expected in v for v in found), found


def test_a_big_order_counted_twice_or_never_is_named():
    assert violations(healthy(), ["o1", "o2"], big_orders_counted=2) == [
        "BigOrders counted 2, 1 big orders were placed"
    ]
    assert violations(healthy(), ["o1", "o2"], big_orders_counted=0) != []
