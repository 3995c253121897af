"""The orders app's chaos scenario (``python -m localcloud chaos``): many orders under random faults, then
recovery, then every invariant checked.

N orders (random customers, items and totals: some big, some declined, some short of stock) are placed in waves
while every invocation of the orders flow gets a random fault with probability R (:mod:`localcloud.faults`), and
poison messages are sent with the same probability. Then faults stop; dead-letter queues are redriven and stream
failures replayed (:mod:`serverless_patterns.redrive`, the same code that runs against AWS); the clock moves past the
pending-order TTL and everything drains. The run fails when any order is not final, any effect (payment, invoice,
notification, stock, read model, BigOrders) is missing or doubled, stock is not conserved, a poison message had an
effect or is not dead-lettered, or a subscriber's deliveries do not add up (delivered = processed + dead-lettered).
The seed fixes the orders and which delivery gets which fault.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from localcloud.clock import Clock
from localcloud.engine import DrainTimeout, LocalCloud
from localcloud.faults import RandomFaults, delivery_key
from scenarios.campaign import PAYMENT_DECLINED_TOTAL, peek, place_order, poison_order_item
from scenarios.flow import STREAM_ROLES, SUBSCRIBER_ROLES, FlowFunctions
from scenarios.invariants import FINAL_EVENT, Snapshot, violations
from serverless_patterns.redrive import redrive_dlq, replay_stream_failures

__all__ = ["ChaosReport", "main", "render_chaos", "run_chaos"]

WAVE = 25  # orders placed between two drains
CLIENT_ATTEMPTS = 8  # a client sends a failed command again (same request id) up to this many times
CHAOS_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed start: timestamps, and so deliveries, repeat run to run
TTL_PASSED_MINUTES = 20
SCARCE_SKU = "sku-rare"  # kept at its configured stock, so some orders run out of stock
BIG_TOTAL = Decimal(500)


@dataclass
class ChaosReport:
    stack: str
    orders: int
    seed: int
    fault_rate: float
    accepted: int = 0
    abandoned: int = 0  # commands the client gave up on after CLIENT_ATTEMPTS errors
    statuses: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    invocations: int = 0
    retries: int = 0
    dead_lettered: int = 0
    redriven: int = 0
    replayed: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class _Poison:
    kind: str
    marker: str
    queue_url: str


def _orders(rng: random.Random, count: int, skus: list[str], seed: int) -> list[dict[str, Any]]:
    customers = [f"chaos-{seed}-c{n}" for n in range(max(1, count // 4))]
    plentiful = [s for s in skus if s != SCARCE_SKU]
    orders = []
    for n in range(count):
        chosen = rng.sample(plentiful, k=min(len(plentiful), rng.randint(1, 3)))
        if SCARCE_SKU in skus and rng.random() < 0.03:
            chosen.append(SCARCE_SKU)
        roll = rng.random()
        total = (
            rng.randint(int(BIG_TOTAL), 999)
            if roll < 0.15
            else rng.randint(PAYMENT_DECLINED_TOTAL, 2000)
            if roll < 0.25
            else round(rng.uniform(5, 400), 2)
        )
        orders.append(
            {
                "customer_id": rng.choice(customers),
                "items": [{"sku": sku, "qty": rng.randint(1, 3)} for sku in chosen],
                "total": total,
                "request_id": f"chaos-{seed}-{n}",
            }
        )
    return orders


def _restock(cloud: LocalCloud, orders: int) -> dict[str, int]:
    """Enough stock that most orders can confirm (the scarce sku keeps its configured count); the initial stock."""
    dynamodb = cloud.client("dynamodb")
    table = cloud.outputs["inventory_table"]
    initial: dict[str, int] = {}
    for item in dynamodb.scan(TableName=table)["Items"]:
        sku, available = item["sku"]["S"], int(item["available"]["N"])
        initial[sku] = available if sku == SCARCE_SKU else orders * 3
        dynamodb.put_item(TableName=table, Item={"sku": {"S": sku}, "available": {"N": str(initial[sku])}})
    return initial


def _send_poison(cloud: LocalCloud, flow: FlowFunctions, rng: random.Random, tag: str) -> _Poison:
    """A poison message somewhere the flow reads: a subscriber queue, the write table, the command or the job."""
    kind = rng.choice(["subscriber", "write-table", "command", "scheduled-event"])
    marker = f"poison-{tag}"
    if kind == "subscriber":
        role = rng.choice(SUBSCRIBER_ROLES)
        [mapping] = [m for m in cloud.deployment.mappings if m.function_name == flow[role]]
        body = json.dumps({"event_type": "OrderPlaced", "order_id": marker})
        cloud.client("sqs").send_message(QueueUrl=cloud.deployment.queue_urls[mapping.source_arn], MessageBody=body)
        return _Poison(f"subscriber:{role}", marker, cloud.outputs["subscriber_dlq_urls"][role])
    if kind == "write-table":
        poison_order_item(cloud, marker)
        return _Poison(kind, marker, "")
    if kind == "command":
        cloud.invoke(flow["place-order"], {"customer_id": marker, "items": [], "total": 0})
        return _Poison(kind, marker, "")
    function = flow["expire-orders"]
    cloud.invoke_async(function, {"scheduled_time": marker})
    on_failure = cloud.deployment.async_configs[function].on_failure_arn
    return _Poison(kind, marker, cloud.deployment.queue_urls[on_failure] if on_failure else "")


def _failure_queues(cloud: LocalCloud, flow: FlowFunctions) -> dict[str, str]:
    queues = {}
    for role in STREAM_ROLES:
        [mapping] = [m for m in cloud.deployment.mappings if m.function_name == flow[role]]
        if mapping.on_failure_arn:
            queues[role] = cloud.deployment.queue_urls[mapping.on_failure_arn]
    return queues


def _dead_letter_queues(cloud: LocalCloud) -> list[str]:
    """Every DLQ and failure queue of the stack (queues that only receive what failed)."""
    urls = set(cloud.outputs["subscriber_dlq_urls"].values())
    urls |= {cloud.deployment.queue_urls[m.on_failure_arn] for m in cloud.deployment.mappings if m.on_failure_arn}
    urls |= {
        cloud.deployment.queue_urls[c.on_failure_arn]
        for c in cloud.deployment.async_configs.values()
        if c.on_failure_arn
    }
    return sorted(urls)


def _recover(cloud: LocalCloud, flow: FlowFunctions, report: ChaosReport) -> None:
    """Faults off: redrive every subscriber DLQ, replay every projection's failures, let everything settle."""
    sqs, streams, lam = cloud.client("sqs"), cloud.client("dynamodbstreams"), cloud.client("lambda")
    report.dead_lettered = sum(cloud.queue_depth(url) for url in _dead_letter_queues(cloud))
    for dlq in cloud.outputs["subscriber_dlq_urls"].values():
        report.redriven += redrive_dlq(sqs, dlq).moved
    for url in _failure_queues(cloud, flow).values():
        report.replayed += replay_stream_failures(sqs, streams, lam, url).replayed
    cloud.drain()
    cloud.advance(minutes=TTL_PASSED_MINUTES)
    cloud.drain()


def _delivery_violations(cloud: LocalCloud, flow: FlowFunctions, snapshot: Snapshot) -> list[str]:
    """Per subscriber, every distinct message delivered was processed or is in its DLQ (not both, not neither),
    and every event the orders imply reached the subscriber its filter names."""
    found: list[str] = []
    for role in SUBSCRIBER_ROLES:
        function = flow[role]
        delivered: set[str] = set()
        processed: set[str] = set()
        for invocation in cloud.stats.invocations:
            if invocation.function != function or not invocation.source.startswith("sqs:"):
                continue
            records = invocation.event["Records"]
            failed = {f.get("itemIdentifier") for f in (invocation.result or {}).get("batchItemFailures", [])}
            for record in records:
                delivered.add(record["body"])
                if invocation.error is None and record["messageId"] not in failed:
                    processed.add(record["body"])
        dead = set(peek(cloud, cloud.outputs["subscriber_dlq_urls"][role]))
        if delivered != processed | dead:
            found.append(f"{role}: {len(delivered - processed - dead)} delivered messages neither processed nor dead")
        if processed & dead:
            found.append(f"{role}: {len(processed & dead)} messages both processed and dead-lettered")
        handled = {(b.get("event_type"), b.get("order_id")) for b in map(_json, processed) if isinstance(b, dict)}
        for order_id, order in snapshot.orders.items():
            if "customer_id" not in order:
                continue  # a poison order item: it never becomes an event
            for event_type in _events_for(role, order):
                if (event_type, order_id) not in handled:
                    found.append(f"{role}: {event_type} of {order_id} never processed")
    return found


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _events_for(role: str, order: dict[str, Any]) -> list[str]:
    final = FINAL_EVENT.get(order["status"])
    if role == "fulfilment":
        return ["OrderPlaced"]
    if role == "invoicing":
        return ["OrderConfirmed"] if order["status"] == "CONFIRMED" else []
    if role == "notifications":
        return [final] if final else []
    return ["OrderPlaced"] if Decimal(str(order["total"])) >= BIG_TOTAL else []


def _check(
    cloud: LocalCloud,
    flow: FlowFunctions,
    report: ChaosReport,
    *,
    accepted: list[str],
    initial: dict[str, int],
    poisons: list[_Poison],
) -> None:
    snapshot = Snapshot.read(cloud.outputs, cloud.deployment.region)
    project = cloud.program.project if cloud.program else ""
    # Every order written (not only those whose client heard "ok": a command can fail after its write).
    written = sorted(set(accepted) | {o for o, item in snapshot.orders.items() if "customer_id" in item})
    report.statuses = Counter(snapshot.orders[o]["status"] for o in written if o in snapshot.orders)
    v = report.violations
    v += violations(
        snapshot, written, initial_stock=initial, big_orders_counted=cloud.metrics.total(project, "BigOrders")
    )
    sfn = cloud.client("stepfunctions")
    executions: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=cloud.outputs["checkout_state_machine_arn"]
    ):
        executions += page["executions"]
    names = Counter(e["name"] for e in executions)
    v += [f"{n}: {c} checkout executions" for n, c in names.items() if c > 1]
    v += [f"checkout {e['name']} ended {e['status']} (needs a human)" for e in executions if e["status"] != "SUCCEEDED"]
    for poison in poisons:
        if poison.marker in snapshot.notifications or poison.marker in snapshot.invoices:
            v.append(f"poison {poison.marker} ({poison.kind}) had an effect")
        if poison.marker in snapshot.read_model:
            v.append(f"poison {poison.marker} ({poison.kind}) reached the read model")
        if poison.queue_url and not any(poison.marker in b for b in peek(cloud, poison.queue_url)):
            v.append(f"poison {poison.marker} ({poison.kind}) is not dead-lettered")
    if any(p.kind == "write-table" for p in poisons):
        parked = [b for url in _failure_queues(cloud, flow).values() for b in peek(cloud, url)]
        for poison in (p for p in poisons if p.kind == "write-table"):
            if sum(poison.marker in b for b in parked) < len(STREAM_ROLES):
                v.append(f"poison order {poison.marker} is not parked by every projection")
    v += _delivery_violations(cloud, flow, snapshot)
    if report.fault_rate == 0 and report.dead_lettered:
        v.append(f"{report.dead_lettered} messages dead-lettered with faults off")
    if cloud.busy():
        v.append(f"still busy at the end: {cloud.busy()}")


def run_chaos(
    stack: str = "dev",
    orders: int = 100,
    seed: int = 1,
    fault_rate: float = 0.1,
    *,
    progress: TextIO | None = None,
    project: Path | None = None,
) -> ChaosReport:
    if orders < 1 or not 0 <= fault_rate <= 1:
        raise ValueError("--orders must be at least 1 and --fault-rate between 0 and 1")
    started = time.perf_counter()
    report = ChaosReport(stack, orders, seed, fault_rate)
    rng = random.Random(seed)
    with LocalCloud.started(stack, clock=Clock(start=CHAOS_EPOCH), project=project) as cloud:
        flow = FlowFunctions.of(cloud)
        initial = _restock(cloud, orders)
        policy = RandomFaults(seed, fault_rate, cloud.call_faults, flow.random_fault_kinds)
        cloud.fault_policy = policy
        accepted: list[str] = []
        poisons: list[_Poison] = []
        commands = _orders(rng, orders, sorted(initial), seed)
        for start in range(0, orders, WAVE):
            for n, command in enumerate(commands[start : start + WAVE], start):
                reply = place_order(cloud, flow["place-order"], command, attempts=CLIENT_ATTEMPTS)
                if reply is None:
                    report.abandoned += 1  # the client gave up; if the order was written it is checked below
                elif reply.get("ok") is True:
                    accepted.append(reply["order_id"])
                else:
                    report.violations.append(f"order {n} refused: {reply}")
                if rng.random() < fault_rate:
                    poisons.append(_send_poison(cloud, flow, rng, f"{seed}-{n}"))
            cloud.drain(timeout_seconds=600)
            cloud.advance(minutes=1)
            if progress is not None:
                print(f"  · {min(start + WAVE, orders)}/{orders} orders placed", file=progress, flush=True)
        policy.enabled = False
        cloud.advance(minutes=TTL_PASSED_MINUTES)
        cloud.drain(timeout_seconds=600)
        _recover(cloud, flow, report)
        report.accepted = len(accepted)
        report.faults = Counter(policy.injected) + Counter(f"poison {p.kind.split(':')[0]}" for p in poisons)
        report.invocations = len(cloud.stats.invocations)
        seen = Counter((i.function, delivery_key(i.event)) for i in cloud.stats.invocations)
        report.retries = sum(c - 1 for c in seen.values())
        _check(cloud, flow, report, accepted=accepted, initial=initial, poisons=poisons)
    report.seconds = time.perf_counter() - started
    return report


def render_chaos(report: ChaosReport) -> str:
    faults = ", ".join(f"{k} {c}" for k, c in sorted(report.faults.items())) or "none"
    lines = [
        f"Chaos run on stack {report.stack}: {report.orders} orders, seed {report.seed}, "
        f"fault rate {report.fault_rate:g}",
        f"  orders accepted    {report.accepted}"
        + (f" ({report.abandoned} commands abandoned after {CLIENT_ATTEMPTS} errors)" if report.abandoned else ""),
        "  final statuses     " + ", ".join(f"{s} {c}" for s, c in sorted(report.statuses.items())),
        f"  faults injected    {sum(report.faults.values())} ({faults})",
        f"  invocations        {report.invocations} (retries and redeliveries: {report.retries})",
        f"  dead-lettered      {report.dead_lettered}",
        f"  redriven           {report.redriven} from DLQs, {report.replayed} stream failures replayed",
        f"  wall time          {report.seconds:.0f} s",
        f"  violations         {len(report.violations)}",
    ]
    lines += [f"    {v}" for v in report.violations[:50]]
    if len(report.violations) > 50:
        lines.append(f"    … and {len(report.violations) - 50} more")
    return "\n".join(lines)


def main(stack: str, project: Path | None, orders: int, seed: int, fault_rate: float) -> int:
    print(f"Chaos run: {orders} orders on stack {stack}, fault rate {fault_rate:g}, seed {seed}…", file=sys.stderr)
    try:
        report = run_chaos(stack, orders, seed, fault_rate, progress=sys.stderr, project=project)
    except DrainTimeout as stuck:
        print(f"chaos: the flow never settled ({stuck})", file=sys.stderr)
        return 1
    print(render_chaos(report))
    return 0 if report.ok else 1
