"""Cqrs: command handlers → write table → DynamoDB stream → projections → read models.

The write table always has a NEW_AND_OLD_IMAGES stream. Command handlers may write the write table only. Each
projection is a Lambda on the stream (TRIM_HORIZON, bisect on error, partial batch responses, retried until its
records are 6 h old — never infinitely) whose exhausted batches go to its own alarmed failure queue as Lambda's
metadata record, replayable from the stream within its 24 h. Records the handler can never process (malformed)
are parked on the same queue with their content (``FAILURE_QUEUE_URL``; see ``handler_runtime.batch``), so one bad
record never holds the shard. A projection may read this table's stream and write only the read models it names
(plus the grants the caller adds, e.g. a FanOut's ``publish_grants()``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import Function, FunctionArgs, component_function_args, function_problems
from serverless_patterns.blocks.queue import FailureQueue
from serverless_patterns.blocks.table import GlobalIndex, KeyAttribute, Table, TableArgs, table_problems
from serverless_patterns.internals.alarms import AlarmSpec, MathAlarmSpec, MathMetric, math_alarm, metric_alarm
from serverless_patterns.internals.iam import STAR_RESOURCE_ACTIONS, Grant, grant, star_grant
from serverless_patterns.internals.validation import Problems

__all__ = ["CommandHandler", "Cqrs", "CqrsArgs", "Projection", "ReadModel", "WriteTable", "env_name"]

DEFAULT_BATCH_SIZE = 100
#: A failed batch is retried until its records are 6 hours old (an outage of a dependency that long loses nothing),
#: then its failure record goes to the failure queue with 18 of the stream's 24 hours left to replay it.
DEFAULT_MAX_RETRIES = 10_000
DEFAULT_MAX_RECORD_AGE = 6 * 3600
STREAM_RETENTION_SECONDS = 24 * 3600
MIN_REPLAY_WINDOW_SECONDS = 4 * 3600
#: The environment variable naming the queue where a projection parks the records it can never process.
FAILURE_QUEUE_ENV = "FAILURE_QUEUE_URL"
DEFAULT_ITERATOR_AGE_ALARM_MS = 60_000
MAX_FILTER_PATTERNS = 5
WRITE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
READ_MODEL_ACTIONS = [
    "dynamodb:ConditionCheckItem",  # with PutItem/UpdateItem/DeleteItem, authorises TransactWriteItems
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
WRITE_TABLE_OPERATIONS = ["GetItem", "PutItem", "UpdateItem", "Query", "GetRecords"]
READ_MODEL_OPERATIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]


class WriteTable(TypedDict):
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    global_indexes: NotRequired[list[GlobalIndex]]
    ttl_attribute: NotRequired[str]
    kms_key_arn: NotRequired[pulumi.Input[str]]


class ReadModel(TypedDict):
    name: str
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    ttl_attribute: NotRequired[str]


class CommandHandler(TypedDict):
    name: str
    handler_package: str
    handler: str
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    grants: NotRequired[list[Grant]]
    reserved_concurrency: NotRequired[int]


class Projection(TypedDict):
    name: str
    handler_package: str
    handler: str
    read_models: NotRequired[list[str]]  # read models it writes (env <NAME>_TABLE and write grants)
    batch_size: NotRequired[int]  # [100] 1..10000
    batching_window_seconds: NotRequired[int]  # [0] 0..300
    max_retry_attempts: NotRequired[int]  # [10000] 0..10000 (never infinite): retried up to the record age
    max_record_age_seconds: NotRequired[int]  # [21600] 60..72000: leaves >= 4 h of the stream's 24 h to replay
    parallelization_factor: NotRequired[int]  # [1] 1..10
    bisect_on_error: NotRequired[bool]  # [True]
    filter_patterns: NotRequired[list[dict[str, Any]]]  # Lambda event filtering, at most 5
    iterator_age_alarm_ms: NotRequired[int]  # [60000]
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    grants: NotRequired[list[Grant]]
    reserved_concurrency: NotRequired[int]


class CqrsArgs(TypedDict):
    alarm_topic_arn: pulumi.Input[str]
    write_table: WriteTable
    command_handlers: list[CommandHandler]
    projections: list[Projection]
    read_models: NotRequired[list[ReadModel]]
    deletion_protection: NotRequired[bool]  # [True] every table of the component
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


@dataclass(frozen=True)
class ProjectionOutputs:
    function_name: pulumi.Output[str]
    failure_queue_url: pulumi.Output[str]
    failure_queue_arn: pulumi.Output[str]


def env_name(read_model: str) -> str:
    """The environment variable holding a read model's table name: ``customer-orders`` → ``CUSTOMER_ORDERS_TABLE``."""
    return re.sub(r"[^A-Za-z0-9]", "_", read_model).upper() + "_TABLE"


def _function_args(
    spec: CommandHandler | Projection,
    args: CqrsArgs,
    environment: dict[str, pulumi.Input[str]] | None = None,
    grants: list[Grant] | None = None,
) -> FunctionArgs:
    return component_function_args(spec, args, environment, grants)


def _projection_problems(index: int, projection: Projection, args: CqrsArgs) -> list[str]:
    where = f"projections[{index}] ({projection.get('name', '?')})"
    p = Problems(where)
    p.name("name", projection.get("name"))
    if not projection.get("handler_package") or not projection.get("handler"):
        p.add("a projection needs handler_package and handler")
    else:
        p.extend(function_problems(projection["name"], _function_args(projection, args)))
    p.int_range("batch_size", projection.get("batch_size", DEFAULT_BATCH_SIZE), 1, 10000)
    p.int_range("batching_window_seconds", projection.get("batching_window_seconds", 0), 0, 300)
    p.int_range("max_retry_attempts", projection.get("max_retry_attempts", DEFAULT_MAX_RETRIES), 0, 10000)
    p.int_range(
        "max_record_age_seconds",
        projection.get("max_record_age_seconds", DEFAULT_MAX_RECORD_AGE),
        60,
        STREAM_RETENTION_SECONDS - MIN_REPLAY_WINDOW_SECONDS,
    )
    p.int_range("parallelization_factor", projection.get("parallelization_factor", 1), 1, 10)
    p.int_range(
        "iterator_age_alarm_ms",
        projection.get("iterator_age_alarm_ms", DEFAULT_ITERATOR_AGE_ALARM_MS),
        1000,
        86_400_000,
    )
    patterns = projection.get("filter_patterns", [])
    p.check(
        len(patterns) <= MAX_FILTER_PATTERNS, f"filter_patterns: at most {MAX_FILTER_PATTERNS}, got {len(patterns)}"
    )
    for i, pattern in enumerate(patterns):
        p.check(isinstance(pattern, dict) and bool(pattern), f"filter_patterns[{i}] must be a non-empty JSON object")
    known = {m.get("name") for m in args.get("read_models", [])}
    for name in projection.get("read_models", []):
        p.check(name in known, f"read_models: {name!r} is not one of this component's read models")
    return [f"{where}: {problem}" for problem in p.items]


def cqrs_problems(args: CqrsArgs) -> list[str]:
    problems: list[str] = []
    write_table: TableArgs = {**args.get("write_table", {}), "stream_view_type": "NEW_AND_OLD_IMAGES"}  # type: ignore[typeddict-item]
    if "partition_key" not in write_table:
        problems.append("write_table.partition_key is required")
    else:
        problems += [f"write_table: {p}" for p in table_problems(write_table)]
    for index, model in enumerate(args.get("read_models", [])):
        where = f"read_models[{index}] ({model.get('name', '?')})"
        problems += (
            [f"{where}: name must be lower-case letters, digits and '-'"]
            if not isinstance(model.get("name"), str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,47}", model["name"])
            else []
        )
        problems += [f"{where}: {p}" for p in table_problems(_read_model_table(model, True))]
    for label, items in (
        ("command_handlers", args.get("command_handlers", [])),
        ("projections", args.get("projections", [])),
        ("read_models", args.get("read_models", [])),
    ):
        names = [i.get("name") for i in items]
        problems += [f"{label}: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    if not args.get("projections"):
        problems.append("projections: at least one projection is required")
    for index, command in enumerate(args.get("command_handlers", [])):
        where = f"command_handlers[{index}] ({command.get('name', '?')})"
        problems += [
            f"{where}: {p}" for p in function_problems(command.get("name", "?"), _function_args(command, args))
        ]
    for index, projection in enumerate(args.get("projections", [])):
        problems += _projection_problems(index, projection, args)
    return problems


def _read_model_table(model: ReadModel, protect: bool) -> TableArgs:
    table: TableArgs = {"partition_key": model.get("partition_key", {}), "deletion_protection": protect}  # type: ignore[typeddict-item]
    if "sort_key" in model:
        table["sort_key"] = model["sort_key"]
    if "ttl_attribute" in model:
        table["ttl_attribute"] = model["ttl_attribute"]
    return table


class Cqrs(pulumi.ComponentResource):
    """Write model, stream projections and read models. See :class:`CqrsArgs`."""

    write_table_name: pulumi.Output[str]
    write_table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]
    read_models: dict[str, Table]
    command_functions: dict[str, Function]
    projections: dict[str, ProjectionOutputs]

    def __init__(self, name: str, args: CqrsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Cqrs", name, None, opts)
        problems = Problems(f"Cqrs {name!r}")
        problems.extend(cqrs_problems(args))
        problems.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        protect = args.get("deletion_protection", True)
        topic = args["alarm_topic_arn"]

        write_spec: TableArgs = {
            **args["write_table"],  # type: ignore[typeddict-item]
            "stream_view_type": "NEW_AND_OLD_IMAGES",
            "deletion_protection": protect,
        }
        write_table = Table(f"{name}-table", write_spec, opts=child)
        stream_arn = write_table.stream_arn
        assert stream_arn is not None
        self._table_alarms(f"{name}-table", write_table, WRITE_TABLE_OPERATIONS, topic)

        self.read_models = {}
        for model in args.get("read_models", []):
            table = Table(f"{name}-{model['name']}", _read_model_table(model, protect), opts=child)
            self._table_alarms(f"{name}-{model['name']}", table, READ_MODEL_OPERATIONS, topic)
            self.read_models[model["name"]] = table

        self.command_functions = {}
        for command in args.get("command_handlers", []):
            function_args = _function_args(
                command,
                args,
                environment={"WRITE_TABLE": write_table.table_name},
                grants=[grant(WRITE_ACTIONS, [write_table.table_arn])],
            )
            self.command_functions[command["name"]] = Function(f"{name}-{command['name']}", function_args, opts=child)

        self.projections = {
            projection["name"]: self._projection(name, projection, args, write_table, stream_arn)
            for projection in args["projections"]
        }

        self.write_table_name = write_table.table_name
        self.write_table_arn = write_table.table_arn
        self.stream_arn = stream_arn
        self.register_outputs(
            {
                "write_table_name": write_table.table_name,
                "write_table_arn": write_table.table_arn,
                "stream_arn": stream_arn,
                "read_model_tables": {n: t.table_name for n, t in self.read_models.items()},
                "command_functions": {n: f.function_name for n, f in self.command_functions.items()},
                "projection_functions": {n: p.function_name for n, p in self.projections.items()},
                "failure_queue_urls": {n: p.failure_queue_url for n, p in self.projections.items()},
            }
        )

    def _projection(
        self, name: str, projection: Projection, args: CqrsArgs, write_table: Table, stream_arn: pulumi.Output[str]
    ) -> ProjectionOutputs:
        prefix = f"{name}-{projection['name']}"
        child = pulumi.ResourceOptions(parent=self)
        failures = FailureQueue(f"{prefix}-failures", {"alarm_topic_arn": args["alarm_topic_arn"]}, opts=child)
        model_names = projection.get("read_models", [])
        models = [self.read_models[m] for m in model_names]
        environment: dict[str, pulumi.Input[str]] = {
            "WRITE_TABLE": write_table.table_name,
            FAILURE_QUEUE_ENV: failures.queue_url,  # where the handler parks records it can never process
        }
        environment.update({env_name(m): t.table_name for m, t in zip(model_names, models, strict=True)})
        grants = [
            grant(STREAM_ACTIONS, [stream_arn]),
            star_grant(["dynamodb:ListStreams"], STAR_RESOURCE_ACTIONS["dynamodb:ListStreams"]),
            # The mapping's on-failure destination is sent with the function's own role, and so are parked records.
            grant(["sqs:SendMessage"], [failures.queue_arn]),
            *([grant(READ_MODEL_ACTIONS, [t.table_arn for t in models])] if models else []),
        ]
        function_args = _function_args(projection, args, environment, grants)
        function = Function(f"{prefix}-projection", function_args, opts=child)
        patterns = projection.get("filter_patterns", [])
        aws.lambda_.EventSourceMapping(
            f"{prefix}-mapping",
            event_source_arn=stream_arn,
            function_name=function.function_arn,
            starting_position="TRIM_HORIZON",
            batch_size=projection.get("batch_size", DEFAULT_BATCH_SIZE),
            maximum_batching_window_in_seconds=projection.get("batching_window_seconds", 0),
            bisect_batch_on_function_error=projection.get("bisect_on_error", True),
            maximum_retry_attempts=projection.get("max_retry_attempts", DEFAULT_MAX_RETRIES),
            maximum_record_age_in_seconds=projection.get("max_record_age_seconds", DEFAULT_MAX_RECORD_AGE),
            parallelization_factor=projection.get("parallelization_factor", 1),
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": failures.queue_arn}},
            filter_criteria={"filters": [{"pattern": json.dumps(p, sort_keys=True)} for p in patterns]}
            if patterns
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        threshold = projection.get("iterator_age_alarm_ms", DEFAULT_ITERATOR_AGE_ALARM_MS)
        metric_alarm(
            f"{prefix}-iterator-age",
            AlarmSpec(
                "AWS/Lambda",
                "IteratorAge",
                {"FunctionName": function.function_name},
                threshold,
                f"The projection is more than {threshold} ms behind the stream: read models are stale.",
                statistic="Maximum",
                comparison="GreaterThanThreshold",
            ),
            args["alarm_topic_arn"],
            self,
        )
        return ProjectionOutputs(function.function_name, failures.queue_url, failures.queue_arn)

    def _table_alarms(self, prefix: str, table: Table, operations: list[str], topic: pulumi.Input[str]) -> None:
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            metric_alarm(
                f"{prefix}-{metric.removesuffix('Events').lower().replace('throttle', '-throttles')}",
                AlarmSpec(
                    "AWS/DynamoDB",
                    metric,
                    {"TableName": table.table_name},
                    1,
                    f"{metric} on the table: requests are being throttled.",
                    period_seconds=300,
                ),
                topic,
                self,
            )
        metrics = [
            MathMetric(f"m{i}", "AWS/DynamoDB", "SystemErrors", {"TableName": table.table_name, "Operation": op})
            for i, op in enumerate(operations)
        ]
        math_alarm(
            f"{prefix}-system-errors",
            MathAlarmSpec(
                metrics=metrics,
                expression=f"SUM([{','.join(m.id for m in metrics)}])",
                label="SystemErrors over " + ", ".join(operations),
                threshold=1,
                description="DynamoDB returned 500s (SystemErrors) for " + ", ".join(operations) + ".",
                period_seconds=300,
            ),
            topic,
            self,
        )
