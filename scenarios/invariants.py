"""The orders contract's invariants, checked on a snapshot of the stack's tables (demo, fault matrix, chaos run).

An order ends CONFIRMED with its stock taken, its payment CHARGED, one invoice and one OrderConfirmed
notification, or CANCELLED/EXPIRED with its stock restored, nothing charged, no invoice and the one notification
of its final transition — never in between. The customer-orders read model counts every transition exactly once,
stock is conserved and never negative, and every big order is counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3

__all__ = ["FINAL_EVENT", "Snapshot", "violations"]

FINAL_EVENT = {"CONFIRMED": "OrderConfirmed", "CANCELLED": "OrderCancelled", "EXPIRED": "OrderExpired"}
BIG_ORDER_TOTAL = Decimal(500)


def _scan(resource: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = resource.Table(table).scan(**query)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Snapshot:
    """The contract's tables as they are now (the stack outputs name them)."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: dict[str, set[str]] = field(default_factory=dict)  # order → event types notified
    read_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    inventory: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, outputs: Mapping[str, Any], region: str) -> Snapshot:
        resource: Any = boto3.resource("dynamodb", region_name=region)
        snapshot = cls(
            orders={o["order_id"]: o for o in _scan(resource, outputs["orders_table"])},
            payments={p["order_id"]: p for p in _scan(resource, outputs["payments_table"])},
            reservations={r["order_id"]: r for r in _scan(resource, outputs["reservations_table"])},
            invoices={i["order_id"]: i for i in _scan(resource, outputs["invoices_table"])},
            read_model={r["customer_id"]: r for r in _scan(resource, outputs["customer_orders_table"])},
            inventory={i["sku"]: int(i["available"]) for i in _scan(resource, outputs["inventory_table"])},
        )
        for notification in _scan(resource, outputs["notifications_table"]):
            snapshot.notifications.setdefault(notification["order_id"], set()).add(notification["event_type"])
        return snapshot


def outcome_violations(snapshot: Snapshot, order_ids: Iterable[str]) -> list[str]:
    """Each order final, with exactly the effects of its final status."""
    found: list[str] = []
    for order_id in order_ids:
        order = snapshot.orders.get(order_id)
        if order is None:
            found.append(f"{order_id}: accepted but never written")
            continue
        status = order["status"]
        payment = snapshot.payments.get(order_id, {}).get("status")
        reservation = snapshot.reservations.get(order_id, {}).get("status")
        notified = snapshot.notifications.get(order_id, set())
        if status not in FINAL_EVENT:
            found.append(f"{order_id}: still {status}")
            continue
        if status == "CONFIRMED":
            if payment != "CHARGED" or reservation != "RESERVED":
                found.append(f"{order_id}: CONFIRMED with payment {payment} and reservation {reservation}")
            if order_id not in snapshot.invoices:
                found.append(f"{order_id}: CONFIRMED without an invoice")
        else:
            if payment == "CHARGED" or reservation == "RESERVED":
                found.append(f"{order_id}: {status} with payment {payment} and reservation {reservation}")
            if order_id in snapshot.invoices:
                found.append(f"{order_id}: invoiced although {status}")
        if notified != {FINAL_EVENT[status]}:
            found.append(f"{order_id}: {status} notified as {sorted(notified) or 'nothing'}")
    return found


def read_model_violations(snapshot: Snapshot, customers: Iterable[str]) -> list[str]:
    """The customer-orders counters equal what the orders say (every transition applied exactly once)."""
    found: list[str] = []
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for order in snapshot.orders.values():
        by_customer.setdefault(str(order.get("customer_id")), []).append(order)
    for customer in customers:
        orders = by_customer.get(customer, [])
        statuses = Counter(o["status"] for o in orders)
        expected = {
            "placed": len(orders),
            "confirmed": statuses["CONFIRMED"],
            "cancelled": statuses["CANCELLED"],
            "expired": statuses["EXPIRED"],
            "open_orders": statuses["PENDING"],
        }
        row = snapshot.read_model.get(customer, {})
        for counter, want in expected.items():
            if int(row.get(counter, 0)) != want:
                found.append(f"read model {customer}.{counter} = {row.get(counter, 0)}, the orders say {want}")
        confirmed = sum((Decimal(str(o["total"])) for o in orders if o["status"] == "CONFIRMED"), Decimal(0))
        if Decimal(str(row.get("confirmed_total", 0))) != confirmed:
            found.append(f"read model {customer}.confirmed_total = {row.get('confirmed_total', 0)}, orders {confirmed}")
    return found


def stock_violations(snapshot: Snapshot, initial: Mapping[str, int]) -> list[str]:
    """Stock conserved (initial minus what CONFIRMED orders took) and never negative."""
    taken: Counter[str] = Counter()
    for order in snapshot.orders.values():
        if order.get("status") == "CONFIRMED":
            for item in order.get("items", []):
                taken[str(item["sku"])] += int(item["qty"])
    found: list[str] = []
    for sku, start in sorted(initial.items()):
        now = snapshot.inventory.get(sku, 0)
        if now < 0:
            found.append(f"stock of {sku} is negative: {now}")
        if now != start - taken[sku]:
            found.append(f"stock of {sku} is {now}; {start} - {taken[sku]} confirmed = {start - taken[sku]}")
    return found


def big_orders_violations(snapshot: Snapshot, order_ids: Iterable[str], counted: float) -> list[str]:
    """Every order with a total of 500 or more counted once by the big-orders subscriber."""
    big = sum(1 for o in order_ids if Decimal(str(snapshot.orders.get(o, {}).get("total", 0))) >= BIG_ORDER_TOTAL)
    return [] if counted == big else [f"BigOrders counted {counted:g}, {big} big orders were placed"]


def violations(
    snapshot: Snapshot,
    order_ids: Iterable[str],
    *,
    initial_stock: Mapping[str, int] | None = None,
    big_orders_counted: float | None = None,
) -> list[str]:
    """Every broken invariant for ``order_ids`` (and their customers), stock and the big-orders count."""
    ids = sorted(order_ids)
    customers = sorted({str(snapshot.orders[o]["customer_id"]) for o in ids if o in snapshot.orders})
    found = outcome_violations(snapshot, ids) + read_model_violations(snapshot, customers)
    if initial_stock is not None:
        found += stock_violations(snapshot, initial_stock)
    if big_orders_counted is not None:
        found += big_orders_violations(snapshot, ids, big_orders_counted)
    return found
