"""The orders app's demo scenario (``python -m localcloud demo``): every pattern driven on the local cloud.

Orders that confirm, one declined by payment, one out of stock, an invalid command, a poison message on the topic,
a duplicate delivery, and the clock advanced through expire-orders; then a report per pattern and the contract's
invariants checked. The command exits non-zero when an invariant is broken.
"""

from __future__ import annotations

import copy
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import boto3

from localcloud.engine import LocalCloud

__all__ = ["DemoReport", "render_report", "run_demo"]

BIG_ORDER_TOTAL = 500


@dataclass
class Scenario:
    label: str
    command: dict[str, Any]
    expect_status: str | None  # None: the command is refused
    expect_reason: str | None = None
    order_id: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoReport:
    stack: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)
    subscribers: dict[str, dict[str, int]] = field(default_factory=dict)
    executions: list[dict[str, Any]] = field(default_factory=list)
    projection_lag_ms: dict[str, float] = field(default_factory=dict)
    read_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    expiry_runs: int = 0
    orders_expired: float = 0
    big_orders_counted: float = 0
    alarms: list[tuple[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _command(customer: str, items: dict[str, int], total: float, request_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "items": [{"sku": s, "qty": q} for s, q in items.items()],
        "total": total,
        "request_id": request_id,
    }


SCENARIOS = [
    Scenario("confirms", _command("ada", {"sku-apple": 2, "sku-pear": 1}, 42.5, "demo-1"), "CONFIRMED"),
    Scenario("confirms (big order)", _command("ada", {"sku-plum": 3}, 650, "demo-2"), "CONFIRMED"),
    Scenario("confirms", _command("ben", {"sku-pear": 4}, 88, "demo-3"), "CONFIRMED"),
    Scenario("declined by payment", _command("ben", {"sku-apple": 1}, 1500, "demo-4"), "CANCELLED", "PaymentDeclined"),
    Scenario("out of stock", _command("cy", {"sku-rare": 5}, 60, "demo-5"), "CANCELLED", "OutOfStock"),
    Scenario("invalid command", {"customer_id": "cy", "items": [{"sku": "sku-apple", "qty": 0}], "total": -1}, None),
    Scenario("expires (its saga never starts)", _command("dee", {"sku-apple": 1}, 12, "demo-6"), "EXPIRED"),
]


def _say(progress: TextIO | None, text: str) -> None:
    if progress is not None:
        print(f"  · {text}", file=progress, flush=True)


def _items(cloud: LocalCloud, output: str) -> list[dict[str, Any]]:
    resource: Any = boto3.resource("dynamodb", region_name=cloud.deployment.region)
    table = resource.Table(cloud.outputs[output])
    return table.scan()["Items"]


def _publish(cloud: LocalCloud, body: str, event_type: str) -> None:
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["order_events_topic_arn"],
        Message=body,
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
    )


def _drive(cloud: LocalCloud, report: DemoReport, progress: TextIO | None) -> None:
    place = cloud.outputs["place_order_function"]
    fulfilment = next(name for name in cloud.deployment.functions if name.endswith("order-events-fulfilment-consumer"))
    report.scenarios = copy.deepcopy(SCENARIOS)
    for scenario in report.scenarios:
        if scenario.expect_status == "EXPIRED":
            cloud.fail_next(fulfilment, "DownstreamUnavailable", times=5)
        invocation = cloud.invoke(place, scenario.command)
        scenario.result = invocation.result if invocation.error is None else {"error": invocation.error.error_type}
        scenario.order_id = scenario.result.get("order_id")
        _say(progress, f"place-order ({scenario.label}): {json.dumps(scenario.result)}")
        cloud.drain()
    _say(progress, "a poison message on the order-events topic")
    _publish(cloud, '{"event_type": "OrderPlaced", "order_id": "poison"}', "OrderPlaced")
    cloud.drain()
    first = report.scenarios[0].order_id
    confirmed = next(o for o in _items(cloud, "orders_table") if o["order_id"] == first)
    _say(progress, f"a duplicate delivery of OrderPlaced and OrderConfirmed for {first}")
    for event_type, status in (("OrderPlaced", "PENDING"), ("OrderConfirmed", "CONFIRMED")):
        event = {
            "event_type": event_type,
            "order_id": first,
            "customer_id": confirmed["customer_id"],
            "total": float(confirmed["total"]),
            "items": json.loads(json.dumps(confirmed["items"], default=int)),
            "status": status,
            "reason": None,
            "occurred_at": confirmed["updated_at"],
        }
        _publish(cloud, json.dumps(event), event_type)
    cloud.drain()
    _say(progress, f"the client retries its command for {first} (same request_id)")
    retried = cloud.invoke(place, report.scenarios[0].command)
    if retried.error is not None or retried.result != {"ok": True, "order_id": first}:
        report.violations.append(f"a retried command must answer the order it placed ({first}), got {retried.result}")
    cloud.drain()
    _say(progress, "the clock advanced 20 minutes: expire-orders runs on its schedule")
    cloud.advance(minutes=20)
    cloud.drain()


def _collect(cloud: LocalCloud, report: DemoReport) -> None:
    report.orders = {o["order_id"]: o for o in _items(cloud, "orders_table")}
    for name, dlq in cloud.outputs["subscriber_dlq_urls"].items():
        queue = dlq.removesuffix("-dlq")
        invocations = [i for i in cloud.stats.invocations if i.source == f"sqs:{queue}"]
        delivered = sum(len(i.event["Records"]) for i in invocations)
        failed = sum(
            len(i.event["Records"]) if i.error else len((i.result or {}).get("batchItemFailures", []))
            for i in invocations
        )
        report.subscribers[name] = {
            "delivered": delivered,
            "processed": delivered - failed,
            "dead-lettered": cloud.queue_depth(dlq),
        }
    sfn = cloud.client("stepfunctions")
    machine = cloud.outputs["checkout_state_machine_arn"]
    for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        path = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
        report.executions.append(
            {
                "order_id": execution["name"],
                "status": described["status"],
                "output": json.loads(described.get("output") or "{}"),
                "path": path,
            }
        )
    for point in cloud.metrics.points:
        if point.namespace == "AWS/Lambda" and point.name == "IteratorAge":
            function = dict(point.dimensions)["FunctionName"]
            report.projection_lag_ms[function] = max(report.projection_lag_ms.get(function, 0), point.value)
    report.read_model = {r["customer_id"]: r for r in _items(cloud, "customer_orders_table")}
    expire = cloud.outputs["expire_orders_function"]
    report.expiry_runs = len([i for i in cloud.stats.invocations if i.function == expire])
    report.orders_expired = cloud.metrics.total(cloud.program.project if cloud.program else "", "OrdersExpired")
    report.big_orders_counted = cloud.metrics.total(cloud.program.project if cloud.program else "", "BigOrders")
    report.alarms = [(a.name, a.reason) for a in cloud.evaluate_alarms() if a.state == "ALARM"]


def _check(cloud: LocalCloud, report: DemoReport) -> None:
    v = report.violations
    payments = {p["order_id"]: p for p in _items(cloud, "payments_table")}
    reservations = {r["order_id"]: r for r in _items(cloud, "reservations_table")}
    invoices = {i["order_id"] for i in _items(cloud, "invoices_table")}
    notifications = {(n["order_id"], n["event_type"]) for n in _items(cloud, "notifications_table")}
    for scenario in report.scenarios:
        if scenario.expect_status is None:
            if scenario.result.get("ok") is not False or not scenario.result.get("errors"):
                v.append(f"{scenario.label}: expected a refusal with errors, got {scenario.result}")
            continue
        current = report.orders.get(scenario.order_id or "")
        if current is None:
            v.append(f"{scenario.label}: order {scenario.order_id} was not written")
            continue
        if current["status"] != scenario.expect_status or current.get("reason") != scenario.expect_reason:
            v.append(
                f"{scenario.label}: {scenario.order_id} is {current['status']} ({current.get('reason')}), "
                f"expected {scenario.expect_status} ({scenario.expect_reason})"
            )
    if len(report.orders) != len([s for s in report.scenarios if s.expect_status]):
        v.append(f"{len(report.orders)} orders written; the invalid command must write none")
    for order_id, order in report.orders.items():
        payment, reservation = payments.get(order_id, {}), reservations.get(order_id, {})
        if order["status"] == "CONFIRMED":
            if payment.get("status") != "CHARGED" or reservation.get("status") != "RESERVED":
                v.append(f"{order_id}: CONFIRMED without stock taken and payment charged")
            if order_id not in invoices:
                v.append(f"{order_id}: CONFIRMED without an invoice")
        elif order["status"] in {"CANCELLED", "EXPIRED"}:
            if payment.get("status") == "CHARGED" or reservation.get("status") == "RESERVED":
                v.append(f"{order_id}: {order['status']} with stock held or payment charged")
            if order_id in invoices:
                v.append(f"{order_id}: invoiced although {order['status']}")
        else:
            v.append(f"{order_id}: still {order['status']} after the demo")
        event = {"CONFIRMED": "OrderConfirmed", "CANCELLED": "OrderCancelled", "EXPIRED": "OrderExpired"}.get(
            order["status"]
        )
        if event and (order_id, event) not in notifications:
            v.append(f"{order_id}: no {event} notification")
    names = [e["order_id"] for e in report.executions]
    duplicates = [n for n, c in Counter(names).items() if c > 1]
    if duplicates:
        v.append(f"more than one checkout execution for {duplicates}")
    if any(e["status"] == "FAILED" for e in report.executions):
        v.append("a checkout execution failed (CompensationFailed)")
    if report.subscribers["fulfilment"]["dead-lettered"] != 2:  # the poison message and the never-started order
        v.append(f"fulfilment DLQ holds {report.subscribers['fulfilment']['dead-lettered']} messages, expected 2")
    expected: dict[str, Counter[str]] = {}
    for order in report.orders.values():
        counters = expected.setdefault(order["customer_id"], Counter())
        counters["placed"] += 1
        counters[order["status"].lower()] += 1
    for customer, counters in expected.items():
        row = report.read_model.get(customer, {})
        for key in ("placed", "confirmed", "cancelled", "expired"):
            if int(row.get(key, 0)) != counters[key]:
                v.append(f"read model {customer}.{key} = {row.get(key, 0)}, orders say {counters[key]}")
        if int(row.get("open_orders", 0)) != 0:
            v.append(f"read model {customer}.open_orders = {row.get('open_orders')}, expected 0")
        confirmed_total = sum(
            (o["total"] for o in report.orders.values() if o["customer_id"] == customer and o["status"] == "CONFIRMED"),
            Decimal(0),
        )
        if Decimal(str(row.get("confirmed_total", 0))) != confirmed_total:
            v.append(
                f"read model {customer}.confirmed_total = {row.get('confirmed_total')}, orders say {confirmed_total}"
            )
    big = sum(1 for o in report.orders.values() if o["total"] >= BIG_ORDER_TOTAL)
    if report.big_orders_counted != big:
        v.append(f"BigOrders counted {report.big_orders_counted:g}, {big} orders were placed with total >= 500")


def run_demo(
    stack: str = "dev",
    progress: TextIO | None = None,
    project: Path | None = None,
    inspect: Callable[[LocalCloud], None] | None = None,
) -> DemoReport:
    """Drive the demo on a fresh local cloud and check it; ``inspect`` sees the cloud at the end (the IAM report)."""
    report = DemoReport(stack)
    _say(progress, f"deploying stack {stack} into the local cloud")
    with LocalCloud.started(stack, project=project) as cloud:
        _say(progress, f"{sum(cloud.deployment.resource_types.values())} resources created in moto")
        _drive(cloud, report, progress)
        _collect(cloud, report)
        _check(cloud, report)
        if inspect is not None:
            inspect(cloud)
    return report


def render_report(report: DemoReport) -> str:
    lines = [f"Demo of stack {report.stack}", ""]
    lines.append("Cqrs — orders by final status")
    for status, count in sorted(Counter(o["status"] for o in report.orders.values()).items()):
        lines.append(f"  {status:<10} {count}")
    for scenario in report.scenarios:
        if scenario.expect_status is None:
            lines.append(f"  refused    invalid command: {len(scenario.result.get('errors', []))} errors returned")
    lines.append("  read model (customer-orders):")
    for customer, row in sorted(report.read_model.items()):
        counters = ", ".join(f"{k}={row[k]}" for k in sorted(row) if k != "customer_id")
        lines.append(f"    {customer}: {counters}")
    lines.append("  projection lag (max IteratorAge):")
    for function, lag in sorted(report.projection_lag_ms.items()):
        lines.append(f"    {function}: {lag:.0f} ms")
    lines += ["", "FanOut — order-events subscribers (messages delivered / processed / dead-lettered)"]
    for name, stats in report.subscribers.items():
        lines.append(f"  {name:<14} {stats['delivered']:>3} / {stats['processed']:>3} / {stats['dead-lettered']:>3}")
    lines.append(f"  big-orders counted: {report.big_orders_counted:g}")
    lines += ["", "Saga — checkout executions by outcome"]
    outcomes = Counter(
        f"{e['output'].get('outcome', e['status'])}"
        + (f" ({e['output']['reason']})" if "reason" in e["output"] else "")
        for e in report.executions
    )
    for outcome, count in sorted(outcomes.items()):
        lines.append(f"  {outcome:<32} {count}")
    for execution in report.executions:
        if execution["output"].get("outcome") == "CANCELLED":
            lines.append(f"  compensation path of {execution['order_id'][:14]}…: {' → '.join(execution['path'])}")
    lines += [
        "",
        "ScheduledJob — expire-orders",
        f"  runs: {report.expiry_runs}, orders expired: {report.orders_expired:g}",
    ]
    lines += ["", "Alarms that would fire"]
    lines += [f"  {name}: {reason}" for name, reason in report.alarms] or ["  none"]
    lines += ["", "Invariants of the contract"]
    lines += [f"  BROKEN: {v}" for v in report.violations] or ["  all hold"]
    return "\n".join(lines)


def main(stack: str, project: Path | None = None) -> int:
    print(f"Running the demo on stack {stack} (no AWS account needed)…", file=sys.stderr)
    report = run_demo(stack, progress=sys.stderr, project=project)
    print(render_report(report))
    return 0 if report.ok else 1
