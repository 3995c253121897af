"""One order through the flow under one fault: the unit of the fault matrix (and the building blocks of chaos).

:func:`run_fault_case` places an order for a fresh customer with one fault armed on one function, drains, moves
the clock past the pending-order TTL, drains again, and checks the contract's invariants for that order and its
customer, that the fault really fired, and that a poison message ended where it belongs with no effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from localcloud.engine import LocalCloud
from localcloud.faults import corrupt, drop_items, duplicate, error_after, error_before, reorder, timeout_after
from scenarios.flow import SAGA_ROLES, STREAM_ROLES, SUBSCRIBER_ROLES, FlowFunctions
from scenarios.invariants import Snapshot, violations

__all__ = ["CaseResult", "peek", "place_order", "poison_order_item", "run_fault_case", "scenario_for"]

PAYMENT_DECLINED_TOTAL = 1500  # above the dev and prod paymentLimit: the saga compensates
BIG_TOTAL = 650
PLACE_ATTEMPTS = 5
TTL_PASSED_MINUTES = 20  # past pendingOrderTtlMinutes (15): expire-orders has run on its schedule


@dataclass
class CaseResult:
    role: str
    kind: str
    order_ids: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def scenario_for(role: str) -> str:
    """Which order exercises a role: compensations need a declined payment, expiry an order whose saga never
    starts, big-orders a big total; everything else an order that confirms."""
    if role in ("release-inventory", "refund-payment", "mark-cancelled"):
        return "declined"
    if role == "expire-orders":
        return "stuck"
    return "big" if role == "big-orders" else "confirms"


def command(customer: str, request_id: str, total: float) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "items": [{"sku": "sku-apple", "qty": 1}],
        "total": total,
        "request_id": request_id,
    }


def place_order(
    cloud: LocalCloud, function: str, order: dict[str, Any], attempts: int = PLACE_ATTEMPTS
) -> dict[str, Any] | None:
    """Invoke place-order as a client does: on an error, send the same command (same request id) again; None when
    every attempt failed (the client gives up — the order may still have been written)."""
    for _ in range(attempts):
        invocation = cloud.invoke(function, order)
        if invocation.error is None:
            return invocation.result
    return None


def poison_order_item(cloud: LocalCloud, order_id: str) -> None:
    """An order written by something other than place-order (no customer, total or items): both projections
    must park it on their failure queues."""
    cloud.client("dynamodb").put_item(
        TableName=cloud.outputs["orders_table"],
        Item={"order_id": {"S": order_id}, "status": {"S": "PENDING"}, "created_at": {"S": "2000-01-01T00:00:00Z"}},
    )


def _queue_of(cloud: LocalCloud, function: str) -> str:
    [mapping] = [m for m in cloud.deployment.mappings if m.function_name == function and m.kind == "sqs"]
    return cloud.deployment.queue_urls[mapping.source_arn]


def _failure_queue_of(cloud: LocalCloud, function: str) -> str:
    [mapping] = [m for m in cloud.deployment.mappings if m.function_name == function and m.kind != "sqs"]
    assert mapping.on_failure_arn is not None
    return cloud.deployment.queue_urls[mapping.on_failure_arn]


def peek(cloud: LocalCloud, url: str) -> list[str]:
    """Every message body in a queue, left there: received out of sight, then made visible again at once."""
    sqs = cloud.client("sqs")
    bodies: dict[str, str] = {}
    handles: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        bodies.update({m["MessageId"]: m["Body"] for m in batch})
        handles += [m["ReceiptHandle"] for m in batch]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(bodies.values())


@dataclass
class _Poison:
    """Where a poison message must end up, and how to recognise it there."""

    queue_url: str
    marker: str


def _send_poison(cloud: LocalCloud, flow: FlowFunctions, role: str, tag: str) -> _Poison | None:
    sqs = cloud.client("sqs")
    function = flow[role]
    if role in SUBSCRIBER_ROLES:
        body = json.dumps({"event_type": "OrderPlaced", "order_id": f"poison-{tag}"})  # no customer, total, items
        sqs.send_message(QueueUrl=_queue_of(cloud, function), MessageBody=body)
        dlq = cloud.outputs["subscriber_dlq_urls"][role]
        return _Poison(dlq, f"poison-{tag}")
    if role in STREAM_ROLES:
        poison_order_item(cloud, f"poison-{tag}")
        return _Poison(_failure_queue_of(cloud, function), f"poison-{tag}")
    if role == "expire-orders":
        cloud.invoke_async(function, {"scheduled_time": f"poison-{tag}"})
        config = cloud.deployment.async_configs[function]
        assert config.on_failure_arn is not None
        return _Poison(cloud.deployment.queue_urls[config.on_failure_arn], f"poison-{tag}")
    return None


def _arm(cloud: LocalCloud, function: str, kind: str) -> None:
    builders = {
        "error_before": error_before,
        "error_after": error_after,
        "timeout_after": timeout_after,
        "duplicate": duplicate,
        "reorder": reorder,
        "throttle": cloud.call_faults.throttle,
    }
    cloud.inject_fault(function, builders[kind]() if kind != "poison" else corrupt(drop_items))


def run_fault_case(cloud: LocalCloud, flow: FlowFunctions, role: str, kind: str, tag: str) -> CaseResult:
    """One order (two for ``reorder``, so that a batch holds more than one record) through the flow with one
    fault on ``role``'s function; returns the broken invariants (none when the flow is safe)."""
    result = CaseResult(role, kind)
    function, scenario = flow[role], scenario_for(role)
    total = {"declined": PAYMENT_DECLINED_TOTAL, "big": BIG_TOTAL}.get(scenario, 40)
    customer = f"case-{tag}"
    before = cloud.metrics.total(cloud.program.project if cloud.program else "", "BigOrders")
    throttled_before = len(cloud.call_faults.throttled)
    poison: _Poison | None = None
    if scenario == "stuck":  # OrderPlaced is acknowledged without starting the saga: the order waits to expire
        cloud.inject_fault(flow["fulfilment"], lambda real, event: {"batchItemFailures": []})
    if kind == "poison" and role not in SAGA_ROLES:
        if role == "place-order":
            refused = cloud.invoke(function, {"customer_id": customer, "items": [], "total": -1})
            if not (isinstance(refused.result, dict) and refused.result.get("ok") is False):
                result.violations.append(f"an invalid command was not refused: {refused.result}")
        else:
            poison = _send_poison(cloud, flow, role, tag)
    elif role != "expire-orders":
        _arm(cloud, function, kind)
    orders = [command(customer, f"{tag}-{n}", total) for n in range(2 if kind == "reorder" else 1)]
    for order in orders:
        reply = place_order(cloud, flow["place-order"], order)
        if reply is None or reply.get("ok") is not True:
            result.violations.append(f"a valid order was refused: {reply}")
            return result
        result.order_ids.append(reply["order_id"])
    cloud.drain()
    if role == "expire-orders" and kind != "poison":
        _arm(cloud, function, kind)
    cloud.advance(minutes=TTL_PASSED_MINUTES)
    cloud.drain()
    if cloud.faults.get(function):
        result.violations.append(f"the {kind} fault on {role} never fired")
    if kind == "throttle" and len(cloud.call_faults.throttled) == throttled_before:
        result.violations.append(f"no AWS call of {role} was throttled")
    if poison is not None and not any(poison.marker in body for body in peek(cloud, poison.queue_url)):
        result.violations.append(f"the poison message for {role} is not in {poison.queue_url.rsplit('/', 1)[-1]}")
    snapshot = Snapshot.read(cloud.outputs, cloud.deployment.region)
    result.statuses = [snapshot.orders.get(o, {}).get("status", "missing") for o in result.order_ids]
    counted = cloud.metrics.total(cloud.program.project if cloud.program else "", "BigOrders") - before
    result.violations += violations(snapshot, result.order_ids, big_orders_counted=counted)
    if poison is not None and poison.marker in snapshot.notifications:
        result.violations.append(f"the poison {poison.marker} was notified")
    if cloud.busy():
        result.violations.append(f"still busy: {cloud.busy()}")
    return result
