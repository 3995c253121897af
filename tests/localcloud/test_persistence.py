"""Saving the local cloud part-way and restoring it into a fresh deploy: the event sources carry on where they
stopped, and a state that does not fit is refused in one line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloud_helpers import EXPIRE, FULFILMENT, function, invocations, messages, place, publish, queue_url

from localcloud.clock import Clock
from localcloud.engine import Invocation, LocalCloud
from localcloud.persistence import STATE_FILE, StateError, restore_state, save_state
from scenarios.invariants import Snapshot, violations

POISON = "{not json"
DELAYED_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/order-events-invoicing-dlq"  # no consumer
LOG_GROUP = f"/aws/lambda/{FULFILMENT}"
RETRIED = {"scheduled_time": "2030-01-01T00:00:00Z"}  # an expire-orders run that failed once
STREAM_FUNCTIONS = [function("orders-customer-summary-projection"), function("orders-order-events-projection")]


def stream_sequences(cloud: LocalCloud, name: str) -> list[str]:
    """Every stream record handed to ``name``, by sequence number (a record processed twice appears twice)."""
    return [
        r["dynamodb"]["SequenceNumber"]
        for i in invocations(cloud, name)
        if i.source.startswith("stream:")
        for r in i.event["Records"]
    ]


def poison_receives(cloud: LocalCloud) -> int:
    return sum(1 for i in invocations(cloud, FULFILMENT) for r in i.event["Records"] if r["body"] == POISON)


def cloudwatch_alarms(cloud: LocalCloud) -> dict[str, str]:
    pages = cloud.client("cloudwatch").get_paginator("describe_alarms").paginate()
    return {a["AlarmName"]: a["StateValue"] for page in pages for a in page["MetricAlarms"]}


def initial_stock(cloud: LocalCloud) -> dict[str, int]:
    items = cloud.client("dynamodb").scan(TableName=cloud.outputs["inventory_table"])["Items"]
    return {i["sku"]["S"]: int(i["available"]["N"]) for i in items}


@dataclass
class SavedRun:
    """A cloud driven part-way, then saved: what it held at the save."""

    directory: Path
    order_ids: list[str]
    stock: dict[str, int]
    now: datetime
    logs: dict[str, list[tuple[datetime, str]]]
    alarms: dict[str, str]
    cloudwatch_alarms: dict[str, str]
    key_id: str
    next_runs: list[datetime | None]
    wall: datetime  # wall time just after the save
    sequences: dict[str, list[str]] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)


def drive_part_way_and_save(directory: Path) -> SavedRun:
    with LocalCloud.started("dev") as cloud:
        stock = initial_stock(cloud)
        orders = [
            place(cloud, "done-1", customer="c-1")["order_id"],
            place(cloud, "done-2", customer="c-2")["order_id"],
        ]
        cloud.drain()
        # A poison message received twice so far, in flight (its visibility timeout running) at the save.
        publish(cloud, POISON)
        cloud.drain(settle_in_flight=False)
        cloud.advance(seconds=181)
        cloud.drain(settle_in_flight=False)
        assert poison_receives(cloud) == 2
        # An order whose saga execution is started but queued, not run.
        orders.append(place(cloud, "queued-1", {"sku-apple": 2}, total=40, customer="c-1")["order_id"])
        for stream in cloud.stream_sources:
            stream.poll()
        for queue in cloud.sqs_sources:
            queue.poll()
        assert len(cloud.pending_executions) == 1
        # Orders whose stream records are not processed yet (one of them big).
        orders.append(place(cloud, "unread-1", total=600, customer="c-3")["order_id"])
        orders.append(place(cloud, "unread-2", customer="c-1")["order_id"])
        # An asynchronous invocation that failed once, waiting for its retry.
        cloud.fail_next(EXPIRE, "Boom")
        cloud.invoke_async(EXPIRE, RETRIED)
        cloud.async_invoker.poll()
        assert [e.attempts for e in cloud.async_invoker.queue] == [1]
        # A message delayed for two minutes, and a log event in CloudWatch Logs.
        cloud.client("sqs").send_message(QueueUrl=DELAYED_QUEUE, MessageBody="later", DelaySeconds=120)
        logs = cloud.client("logs")
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="saved")
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName="saved",
            logEvents=[{"timestamp": int(cloud.clock.now().timestamp() * 1000), "message": "before the save"}],
        )
        cloud.sync_cloudwatch()  # alarm states and metrics into CloudWatch, as serve does every second
        busy = cloud.busy()
        assert any("records pending" in b for b in busy) and any("in flight" in b for b in busy), busy
        key_id = cloud.client("sns").get_topic_attributes(TopicArn=cloud.outputs["alarm_topic_arn"])["Attributes"][
            "KmsMasterKeyId"
        ]
        run = SavedRun(
            directory,
            orders,
            stock,
            cloud.clock.now(),
            {f: cloud.logs.since(f, 0) for f in cloud.logs.logs},
            {a.name: a.state for a in cloud.evaluate_alarms(at=cloud.clock.now())},
            cloudwatch_alarms(cloud),
            key_id,
            [schedule.next_fire() for schedule in cloud.schedules],
            datetime.now(UTC),
            {name: stream_sequences(cloud, name) for name in STREAM_FUNCTIONS},
            list(cloud.stats.invocations),
        )
        save_state(cloud, directory)
        return run


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return drive_part_way_and_save(tmp_path_factory.mktemp("state"))


@pytest.fixture
def fresh() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as cloud:
        yield cloud


# --- carrying on ---------------------------------------------------------------------------------------------------


def test_a_restored_cloud_is_where_the_saved_one_stopped(saved: SavedRun, fresh: LocalCloud):
    description = restore_state(fresh, saved.directory)
    assert description is not None and description.startswith(f"restored from {saved.directory}")
    assert fresh.clock.now() == saved.now, "the virtual clock continues from the save"
    assert {f: fresh.logs.since(f, 0) for f in fresh.logs.logs} == saved.logs
    assert "ALARM" in saved.alarms.values(), "the saved run has an alarm firing (the failed expire-orders run)"
    assert cloudwatch_alarms(fresh) == saved.cloudwatch_alarms
    fresh.publish_metrics()
    statistics = fresh.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": FULFILMENT}],
        StartTime=saved.now - timedelta(days=1),
        EndTime=saved.now + timedelta(days=1),
        Period=86400,
        Statistics=["Sum"],
    )["Datapoints"]
    published = sum(d["Sum"] for d in statistics)
    assert published == len([i for i in saved.invocations if i.function == FULFILMENT]), "each datapoint once"
    assert {a.name: a.state for a in fresh.evaluate_alarms(at=saved.now)} == saved.alarms
    assert [schedule.next_fire() for schedule in fresh.schedules] == saved.next_runs, "schedules keep their times"
    assert len(fresh.pending_executions) == 1
    assert [(e.function, e.event, e.attempts) for e in fresh.async_invoker.queue] == [(EXPIRE, RETRIED, 1)]
    busy = fresh.busy()
    assert any("records pending" in b for b in busy) and any("in flight" in b for b in busy), busy
    events = fresh.client("logs").get_log_events(logGroupName=LOG_GROUP, logStreamName="saved")["events"]
    assert [e["message"] for e in events] == ["before the save"]
    sqs = fresh.client("sqs")
    delayed = sqs.get_queue_attributes(QueueUrl=DELAYED_QUEUE, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive_message(QueueUrl=DELAYED_QUEUE).get("Messages") is None, "still delayed"
    fresh.clock.advance(121)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=DELAYED_QUEUE)["Messages"]] == ["later"]


def test_after_a_restore_every_order_completes_once(saved: SavedRun, fresh: LocalCloud):
    restore_state(fresh, saved.directory)
    fresh.drain()
    snapshot = Snapshot.read(fresh.outputs, fresh.deployment.region)
    big_orders = fresh.metrics.total("serverless-orders", "BigOrders")
    assert violations(snapshot, saved.order_ids, initial_stock=saved.stock, big_orders_counted=big_orders) == []
    assert {o["status"] for o in snapshot.orders.values()} == {"CONFIRMED"}
    for name in STREAM_FUNCTIONS:
        before, after = saved.sequences[name], stream_sequences(fresh, name)
        assert after, f"{name} carried on with the unprocessed records"
        assert not set(before) & set(after), f"{name} was handed a record it had processed before the save"
    executions = fresh.client("stepfunctions").list_executions(
        stateMachineArn=fresh.outputs["checkout_state_machine_arn"]
    )["executions"]
    assert sorted(e["name"] for e in executions) == sorted(saved.order_ids), "one execution per order"
    assert {e["status"] for e in executions} == {"SUCCEEDED"}


def test_the_poison_message_reaches_its_dlq_after_its_remaining_receives(saved: SavedRun, fresh: LocalCloud):
    restore_state(fresh, saved.directory)
    fresh.drain()
    assert poison_receives(fresh) == 3, "5 receives in all: 2 before the save, 3 after"
    assert messages(fresh, fresh.outputs["subscriber_dlq_urls"]["fulfilment"]) == [POISON]
    assert fresh.queue_depth(queue_url(fresh, "fulfilment")) == 0


def test_the_failed_async_invocation_is_retried_once_after_the_restore(saved: SavedRun, fresh: LocalCloud):
    restore_state(fresh, saved.directory)
    fresh.drain()
    retried = [i for i in invocations(fresh, EXPIRE) if i.event == RETRIED]
    assert len(retried) == 1 and retried[0].error is None
    assert retried[0].at is not None and retried[0].at >= saved.now + timedelta(seconds=60)
    assert not fresh.async_invoker.queue


def test_identifiers_the_deploy_makes_at_random_are_the_saved_ones(saved: SavedRun, fresh: LocalCloud):
    fresh_streams = {m.source_arn for m in fresh.deployment.mappings if m.kind == "dynamodb-stream"}
    restore_state(fresh, saved.directory)
    kms, sns, dynamodb = fresh.client("kms"), fresh.client("sns"), fresh.client("dynamodb")
    key = sns.get_topic_attributes(TopicArn=fresh.outputs["alarm_topic_arn"])["Attributes"]["KmsMasterKeyId"]
    assert key == saved.key_id
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"]
    streams = {m.source_arn for m in fresh.deployment.mappings if m.kind == "dynamodb-stream"}
    tables = {
        dynamodb.describe_table(TableName=t)["Table"].get("LatestStreamArn")
        for t in dynamodb.list_tables()["TableNames"]
    }
    assert streams <= tables and streams != fresh_streams, "the mappings read the restored streams"
    queues = set(fresh.deployment.queue_urls)
    for subscription in sns.list_subscriptions()["Subscriptions"]:
        assert subscription["Endpoint"] in queues


def test_a_function_environment_naming_a_fresh_identifier_names_the_saved_one(saved: SavedRun, fresh: LocalCloud):
    summary = next(s for s in fresh.stream_sources if s.mapping.function_name == STREAM_FUNCTIONS[0])
    fresh_stream = summary.mapping.source_arn
    local = fresh.deployment.functions[STREAM_FUNCTIONS[0]]
    local.environment["SOURCE_STREAM"] = fresh_stream
    lam = fresh.client("lambda")
    lam.update_function_configuration(FunctionName=local.name, Environment={"Variables": local.environment})
    restore_state(fresh, saved.directory)
    restored = summary.mapping.source_arn
    assert restored != fresh_stream
    assert local.environment["SOURCE_STREAM"] == restored
    configuration = lam.get_function_configuration(FunctionName=local.name)
    assert configuration["Environment"]["Variables"]["SOURCE_STREAM"] == restored


def test_on_the_wall_clock_the_time_stopped_passes(saved: SavedRun):
    before_restore = datetime.now(UTC)
    with LocalCloud.started("dev", clock=Clock(tied_to_wall=True)) as cloud:
        restore_state(cloud, saved.directory)
        assert cloud.clock.now() >= saved.now + (before_restore - saved.wall)


def test_a_restored_cloud_saves_and_restores_again(saved: SavedRun, tmp_path: Path):
    with LocalCloud.started("dev") as first:
        restore_state(first, saved.directory)
        first.drain()
        save_state(first, tmp_path)
        now = first.clock.now()
    with LocalCloud.started("dev") as again:
        assert restore_state(again, tmp_path) is not None
        assert again.clock.now() == now
        assert not again.busy()
        snapshot = Snapshot.read(again.outputs, again.deployment.region)
        assert violations(snapshot, saved.order_ids, initial_stock=saved.stock) == []


def test_an_execution_saved_part_way_is_stopped_on_restore_not_left_running(tmp_path: Path):
    charge = function("checkout-charge-payment")
    with LocalCloud.started("dev") as cloud:

        def save_mid_execution(real: Any, event: Any) -> Any:
            save_state(cloud, tmp_path)
            return real(event)

        cloud.inject_fault(charge, save_mid_execution)
        placed = place(cloud, "mid-execution")
        cloud.drain()
    with LocalCloud.started("dev") as again:
        restore_state(again, tmp_path)
        arn = again.outputs["checkout_state_machine_arn"].replace(":stateMachine:", ":execution:")
        execution = again.client("stepfunctions").describe_execution(executionArn=f"{arn}:{placed['order_id']}")
        assert execution["status"] == "ABORTED"
        assert again.running_executions() == []


# --- refusing a state that does not fit ----------------------------------------------------------------------------


def test_an_empty_or_missing_directory_holds_no_state(fresh: LocalCloud, tmp_path: Path):
    assert restore_state(fresh, tmp_path) is None
    assert restore_state(fresh, tmp_path / "not-yet") is None


def rewrite_header(source: Path, target: Path, payload: bytes | None = None, **changes: Any) -> None:
    """The state of ``source`` into ``target``, with ``changes`` to its header (and another payload)."""
    data = (source / STATE_FILE).read_bytes()
    magic, header, saved_payload = data.split(b"\n", 2)
    target.mkdir(parents=True, exist_ok=True)
    updated = {**json.loads(header), **changes}
    body = saved_payload if payload is None else payload
    (target / STATE_FILE).write_bytes(magic + b"\n" + json.dumps(updated).encode() + b"\n" + body)


def refusal(cloud: LocalCloud, directory: Path) -> str:
    with pytest.raises(StateError) as refused:
        restore_state(cloud, directory)
    message = str(refused.value)
    assert "\n" not in message and str(directory) in message
    return message


def test_state_of_another_stack_project_format_or_moto_is_refused(saved: SavedRun, fresh: LocalCloud, tmp_path: Path):
    cases = {
        "stack": ({"stack": "prod"}, "holds the state of stack prod"),
        "project": ({"project": "parcel-tracker"}, "of project parcel-tracker"),
        "format": ({"format": 99}, "format 99"),
        "moto": ({"moto": "0.0.1"}, "saved with moto 0.0.1"),
    }
    for name, (changes, expected) in cases.items():
        rewrite_header(saved.directory, tmp_path / name, **changes)
        message = refusal(fresh, tmp_path / name)
        assert expected in message and "use another --state directory or delete it" in message
    assert not fresh.logs.logs, "a refused state leaves the cloud as deployed"


def test_state_of_a_program_whose_resources_changed_is_refused(saved: SavedRun, fresh: LocalCloud):
    assert fresh.program is not None
    queue = next(r for r in fresh.program.resources if r.name == "order-events-fulfilment" and r.custom)
    queue.inputs["visibilityTimeoutSeconds"] = 999
    message = refusal(fresh, saved.directory)
    assert "resources differ" in message and "aws:sqs/queue:Queue order-events-fulfilment" in message
    fresh.program.resources.remove(queue)
    assert "1 removed" in refusal(fresh, saved.directory)


def test_a_corrupt_or_truncated_state_is_refused_in_one_line(saved: SavedRun, fresh: LocalCloud, tmp_path: Path):
    data = (saved.directory / STATE_FILE).read_bytes()
    damaged = {
        "garbage": b"\x00\x01 not a state",
        "header": data.split(b"\n", 1)[0] + b"\n{broken json\n",
        "truncated": data[: len(data) // 2],
    }
    for name, content in damaged.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / STATE_FILE).write_bytes(content)
        assert "delete it or use another --state directory" in refusal(fresh, tmp_path / name)
    garbage = b"not a pickle"
    rewrite_header(saved.directory, tmp_path / "payload", garbage, payload_sha256=hashlib.sha256(garbage).hexdigest())
    assert "cannot be read" in refusal(fresh, tmp_path / "payload")
    (tmp_path / "a-file").write_text("")
    assert "is a file" in refusal(fresh, tmp_path / "a-file")


def test_saving_replaces_the_state_atomically(saved: SavedRun, fresh: LocalCloud, tmp_path: Path):
    save_state(fresh, tmp_path)
    first = (tmp_path / STATE_FILE).read_bytes()
    place(fresh, "later")
    save_state(fresh, tmp_path)
    assert (tmp_path / STATE_FILE).read_bytes() != first
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE], "no temporary file left behind"
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StateError, match="cannot write the state to"):
        save_state(fresh, tmp_path / "a-file" / "state")


# --- the clock -----------------------------------------------------------------------------------------------------


def test_a_clock_resumes_at_a_moment_before_or_after_its_own():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = Clock(start)
    assert clock.resume_at(start - timedelta(hours=1)) == start - timedelta(hours=1)
    assert clock.advance(10) == start - timedelta(hours=1) + timedelta(seconds=10)
    wall = Clock(tied_to_wall=True)
    later = datetime.now(UTC) + timedelta(days=2)
    assert wall.resume_at(later) >= later
    assert wall.now() - later < timedelta(minutes=1), "then it follows the wall clock from there"
