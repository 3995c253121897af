"""Cqrs: command handlers → write table → DynamoDB stream → projections → read models.

The write table always has a NEW_AND_OLD_IMAGES stream. Command handlers may write the write table only. Each
projection is a Lambda on the stream (TRIM_HORIZON, bisect on error, partial batch responses, retried until its
records are 6 h old — never infinitely) whose exhausted batches go to its own alarmed failure queue as Lambda's
metadata record, replayable from the stream within its 24 h. Records the handler can never process (malformed)
are parked on the same queue with their content (``FAILURE_QUEUE_URL``; see ``handler_runtime.batch``), so one bad
record never holds the shard. A projection may read this table's stream and write only the read models it names
(plus the grants the caller adds, e.g. a FanOut's ``publish_grants()``). The table actions default to every
item action a handler of its kind may need; ``write_actions`` and ``read_model_actions`` narrow them to what the
handler's code does (least privilege, as the local cloud's IAM report measures it), never widen them.

The write table may also be one made elsewhere (``existing_write_table``): the component then creates no table and
no table alarms for it, and uses its name, ARN and stream ARN; the stream must be NEW_AND_OLD_IMAGES, as the
projections read both images. Arguments are resolved into :class:`CqrsSettings` (every default and range is
declared there); the rules across fields are the small functions below, run once every field reads well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import Function, function_problems
from serverless_patterns.blocks.queue import FailureQueue, FailureQueueArgs
from serverless_patterns.blocks.table import GlobalIndex, KeyAttribute, Table, TableArgs, table_problems
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.handler_settings import AS_FUNCTION, HandlerSettings, pattern_function_args
from serverless_patterns.internals.iam import STAR_RESOURCE_ACTIONS, Grant, grant, kms_use_grant, star_grant
from serverless_patterns.internals.settings import ARN_PATTERN, setting, settings_problems
from serverless_patterns.internals.validation import NAME_PATTERN, ArgumentError

__all__ = [
    "CommandHandler",
    "CommandHandlerSettings",
    "Cqrs",
    "CqrsArgs",
    "CqrsSettings",
    "ExistingWriteTable",
    "ExistingWriteTableSettings",
    "Projection",
    "ProjectionSettings",
    "ReadModel",
    "ReadModelSettings",
    "WriteTable",
    "WriteTableSettings",
    "cqrs_problems",
    "env_name",
]

STREAM_RETENTION_SECONDS = 24 * 3600
#: What a projection's failure record keeps of the stream's 24 hours at least, to replay it after a fix.
MIN_REPLAY_WINDOW_SECONDS = 4 * 3600
#: The environment variable naming the queue where a projection parks the records it can never process.
FAILURE_QUEUE_ENV = "FAILURE_QUEUE_URL"
MAX_FILTER_PATTERNS = 5
#: The write table's logical name inside the component (``<name>-table``), so no read model may take it.
WRITE_TABLE = "table"
WRITE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
READ_MODEL_ACTIONS = [
    "dynamodb:ConditionCheckItem",  # with PutItem/UpdateItem/DeleteItem, authorises TransactWriteItems
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
_TABLE_ARN = re.compile(r"^arn:[a-z-]+:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}$")
_STREAM_ARN = re.compile(r"^arn:[a-z-]+:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}/stream/.+$")


class WriteTable(TypedDict):
    """The write table the component creates (defaults and rules: :class:`WriteTableSettings`)."""

    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    global_indexes: NotRequired[list[GlobalIndex]]
    ttl_attribute: NotRequired[str]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys


class ExistingWriteTable(TypedDict):
    """A write table made elsewhere, used as it is; it must stream NEW_AND_OLD_IMAGES."""

    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    stream_arn: pulumi.Input[str]


class ReadModel(TypedDict):
    """A read model table (defaults and rules: :class:`ReadModelSettings`)."""

    name: str
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    ttl_attribute: NotRequired[str]


class CommandHandler(TypedDict):
    """A Lambda that writes the write table (defaults and rules: :class:`CommandHandlerSettings`)."""

    name: str
    handler_package: str
    handler: str
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    grants: NotRequired[list[Grant]]
    reserved_concurrency: NotRequired[int]
    write_actions: NotRequired[list[str]]


class Projection(TypedDict):
    """A Lambda on the write table's stream (defaults and rules: :class:`ProjectionSettings`)."""

    name: str
    handler_package: str
    handler: str
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    grants: NotRequired[list[Grant]]
    reserved_concurrency: NotRequired[int]
    read_models: NotRequired[list[str]]
    read_model_actions: NotRequired[dict[str, list[str]]]
    batch_size: NotRequired[int]
    batching_window_seconds: NotRequired[int]
    max_retry_attempts: NotRequired[int]
    max_record_age_seconds: NotRequired[int]
    parallelization_factor: NotRequired[int]
    bisect_on_error: NotRequired[bool]
    filter_patterns: NotRequired[list[dict[str, Any]]]
    iterator_age_alarm_ms: NotRequired[int]


class CqrsArgs(TypedDict):
    """Arguments of :class:`Cqrs` (defaults and rules: :class:`CqrsSettings`)."""

    alarm_topic_arn: pulumi.Input[str]
    write_table: NotRequired[WriteTable]
    existing_write_table: NotRequired[ExistingWriteTable]
    command_handlers: NotRequired[list[CommandHandler]]
    projections: list[Projection]
    read_models: NotRequired[list[ReadModel]]
    deletion_protection: NotRequired[bool]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


def _name_problem(name: str) -> str | None:
    if NAME_PATTERN.match(name):
        return None
    return f"must be lower-case letters, digits and '-', starting with a letter, at most 48 characters; got {name!r}"


def _table_arn_problem(arn: str) -> str | None:
    if not ARN_PATTERN.match(arn) or _TABLE_ARN.match(arn):  # not an ARN at all: said by the ARN rule
        return None
    return f"must be a DynamoDB table ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>), got {arn!r}"


def _stream_arn_problem(arn: str) -> str | None:
    if not ARN_PATTERN.match(arn) or _STREAM_ARN.match(arn):
        return None
    return f"must be a DynamoDB stream ARN (<table ARN>/stream/<label>), got {arn!r}"


def _filter_patterns_problem(patterns: tuple[Mapping[str, Any], ...]) -> str | None:
    if len(patterns) <= MAX_FILTER_PATTERNS:
        return None
    return f"must be at most {MAX_FILTER_PATTERNS} patterns, got {len(patterns)}"


def _at_least_one_projection(projections: tuple[ProjectionSettings, ...]) -> str | None:
    return None if projections else "must hold at least one projection"


KEY_DOC = '`{"name": ..., "type": "S" \\| "N" \\| "B"}`'  # the README's tables need their pipes escaped


@dataclass(frozen=True)
class WriteTableSettings:
    """:class:`WriteTable` resolved: the keys of the write table, checked by the Table block."""

    partition_key: KeyAttribute = setting(doc=KEY_DOC)
    sort_key: KeyAttribute | None = setting(None)
    global_indexes: tuple[GlobalIndex, ...] = setting(
        (),
        doc='`{"name", "partition_key", "sort_key"?, "projection"? (ALL), "non_key_attributes"? (with INCLUDE)}`; '
        "attribute types are declared with each key, so an index cannot name an undeclared attribute, and one "
        "attribute with two types is refused",
    )
    ttl_attribute: str | None = setting(None)
    kms_key_arn: pulumi.Input[str] | None = setting(None, arn=True, default_doc="AWS-owned key")


@dataclass(frozen=True)
class ExistingWriteTableSettings:
    """:class:`ExistingWriteTable` resolved."""

    table_name: pulumi.Input[str] = setting(doc="passed as `WRITE_TABLE`")
    table_arn: pulumi.Input[str] = setting(arn=True, check=_table_arn_problem, doc="command handlers write it")
    stream_arn: pulumi.Input[str] = setting(
        arn=True,
        check=_stream_arn_problem,
        doc="its stream, which must be NEW_AND_OLD_IMAGES (above)",
    )


@dataclass(frozen=True)
class ReadModelSettings:
    """:class:`ReadModel` resolved: an on-demand table with PITR, written by the projections that name it."""

    name: str = setting(check=_name_problem, doc="its table is passed as `<NAME>_TABLE`, e.g. `CUSTOMER_ORDERS_TABLE`")
    partition_key: KeyAttribute = setting(doc=KEY_DOC)
    sort_key: KeyAttribute | None = setting(None)
    ttl_attribute: str | None = setting(None)


@dataclass(frozen=True, kw_only=True)
class _Named:
    # A base of its own so that `name` comes first in the README's tables (dataclass fields follow the bases).
    name: str = setting(check=_name_problem, doc="unique in its list; lower-case letters, digits, `-`")


@dataclass(frozen=True, kw_only=True)
class _CqrsFunction(HandlerSettings, _Named):
    reserved_concurrency: int | None = setting(None, default_doc="none", doc=AS_FUNCTION)


@dataclass(frozen=True, kw_only=True)
class CommandHandlerSettings(_CqrsFunction):
    """:class:`CommandHandler` resolved: it gets ``WRITE_TABLE`` and may write the write table only."""

    write_actions: tuple[str, ...] = setting(
        tuple(WRITE_ACTIONS),
        check=lambda actions: _actions_problem(actions, WRITE_ACTIONS),
        default_doc="all three",
        doc="its actions on the write table, fewer for least privilege (of `GetItem`, `PutItem`, `UpdateItem`)",
    )


@dataclass(frozen=True, kw_only=True)
class ProjectionSettings(_CqrsFunction):
    """:class:`Projection` resolved: the stream mapping's settings and the projection's alarm."""

    read_models: tuple[str, ...] = setting((), doc="the read models it writes (each passed as `<NAME>_TABLE`)")
    read_model_actions: Mapping[str, tuple[str, ...]] | None = setting(
        None,
        default_doc="all five on each",
        doc="read model name → its actions on that model, fewer for least privilege (of `ConditionCheckItem`, "
        "`DeleteItem`, `GetItem`, `PutItem`, `UpdateItem`)",
    )
    batch_size: int = setting(100, low=1, high=10_000)
    batching_window_seconds: int = setting(0, low=0, high=300)
    max_retry_attempts: int = setting(
        10_000, low=0, high=10_000, doc="never infinite: a failing batch is retried until `max_record_age_seconds`"
    )
    max_record_age_seconds: int = setting(
        6 * 3600,
        low=60,
        high=STREAM_RETENTION_SECONDS - MIN_REPLAY_WINDOW_SECONDS,
        doc="at least 4 of the stream's 24 hours stay to replay what fails over",
    )
    parallelization_factor: int = setting(1, low=1, high=10)
    bisect_on_error: bool = setting(True)
    filter_patterns: tuple[dict[str, Any], ...] = setting(
        (), check=_filter_patterns_problem, doc=f"Lambda event filter patterns, at most {MAX_FILTER_PATTERNS}"
    )
    iterator_age_alarm_ms: int = setting(60_000, low=1000, high=86_400_000, doc="the IteratorAge alarm's threshold")


@dataclass(frozen=True, kw_only=True)
class CqrsSettings:
    """:class:`CqrsArgs` resolved: every default and range of the Cqrs pattern."""

    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    write_table: WriteTableSettings | None = setting(
        None,
        default_doc="required, or `existing_write_table`",
        doc="the table the component creates, with a NEW_AND_OLD_IMAGES stream (below)",
    )
    existing_write_table: ExistingWriteTableSettings | None = setting(
        None, doc="a table made elsewhere, used instead: no table and no table alarms are created for it (below)"
    )
    command_handlers: tuple[CommandHandlerSettings, ...] = setting((), doc="below")
    projections: tuple[ProjectionSettings, ...] = setting(check=_at_least_one_projection, doc="at least one; below")
    read_models: tuple[ReadModelSettings, ...] = setting((), doc="below")
    deletion_protection: bool = setting(
        True, doc="every table the component creates: AWS's deletion protection and Pulumi's `protect`"
    )
    kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="AWS-owned keys",
        doc="a customer key (`CustomerKey`) for everything the component stores: its tables (unless the write "
        "table names its own), failure queues and log groups; its functions are granted the key",
    )
    log_retention_days: int | None = setting(None, default_doc=AS_FUNCTION, doc="every function of the component")
    log_level: str | None = setting(None, default_doc=AS_FUNCTION, doc="every function of the component")
    metrics_namespace: str | None = setting(None, default_doc=AS_FUNCTION, doc="every function of the component")
    handlers_root: str | None = setting(None, default_doc=AS_FUNCTION, doc="holds every handler package")


@dataclass(frozen=True)
class ProjectionOutputs:
    function_name: pulumi.Output[str]
    failure_queue_url: pulumi.Output[str]
    failure_queue_arn: pulumi.Output[str]


def env_name(read_model: str) -> str:
    """The environment variable holding a read model's table name: ``customer-orders`` → ``CUSTOMER_ORDERS_TABLE``."""
    return re.sub(r"[^A-Za-z0-9]", "_", read_model).upper() + "_TABLE"


def _table_args(
    settings: CqrsSettings,
    partition_key: KeyAttribute,
    sort_key: KeyAttribute | None,
    ttl_attribute: str | None,
    kms_key_arn: pulumi.Input[str] | None,
) -> TableArgs:
    """A table of the component: alarmed, protected and encrypted as the component says."""
    args: TableArgs = {
        "alarm_topic_arn": settings.alarm_topic_arn,
        "partition_key": partition_key,
        "deletion_protection": settings.deletion_protection,
    }
    if sort_key is not None:
        args["sort_key"] = sort_key
    if ttl_attribute is not None:
        args["ttl_attribute"] = ttl_attribute
    key = kms_key_arn if kms_key_arn is not None else settings.kms_key_arn
    if key is not None:
        args["kms_key_arn"] = key
    return args


def _write_table_args(table: WriteTableSettings, settings: CqrsSettings) -> TableArgs:
    args = _table_args(settings, table.partition_key, table.sort_key, table.ttl_attribute, table.kms_key_arn)
    args["global_indexes"] = list(table.global_indexes)
    args["stream_view_type"] = "NEW_AND_OLD_IMAGES"
    return args


def _read_model_args(model: ReadModelSettings, settings: CqrsSettings) -> TableArgs:
    return _table_args(settings, model.partition_key, model.sort_key, model.ttl_attribute, None)


def _write_table_problems(settings: CqrsSettings) -> list[str]:
    created, existing = settings.write_table, settings.existing_write_table
    if created is not None and existing is not None:
        return ["give write_table or existing_write_table, not both"]
    if created is not None:
        return [f"write_table: {p}" for p in table_problems(_write_table_args(created, settings))]
    if existing is None:
        return ["write_table (or existing_write_table) is required"]
    problems: list[str] = []
    name, arn, stream = existing.table_name, existing.table_arn, existing.stream_arn
    if isinstance(arn, str) and isinstance(stream, str) and not stream.startswith(f"{arn}/stream/"):
        problems.append(f"existing_write_table.stream_arn {stream} is not a stream of the table {arn}")
    if isinstance(arn, str) and isinstance(name, str) and not arn.endswith(f":table/{name}"):
        problems.append(f"existing_write_table.table_name {name!r} is not the name in its table_arn {arn}")
    return problems


def _read_model_problems(settings: CqrsSettings) -> list[str]:
    problems: list[str] = []
    for index, model in enumerate(settings.read_models):
        problems += [f"read_models[{index}]: {p}" for p in table_problems(_read_model_args(model, settings))]
        if model.name == WRITE_TABLE and settings.write_table is not None:
            problems.append(f"read_models[{index}].name {model.name!r} is the write table's: choose another")
    return problems


def _duplicate_problems(settings: CqrsSettings) -> list[str]:
    problems: list[str] = []
    for label, items in (
        ("command_handlers", settings.command_handlers),
        ("projections", settings.projections),
        ("read_models", settings.read_models),
    ):
        names = [item.name for item in items]
        problems += [f"{label}: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    return problems


def _actions_problem(actions: tuple[str, ...], allowed: list[str]) -> str | None:
    """Least privilege is opt-in: a handler may narrow the table actions the component grants, never widen them."""
    if not actions:
        return "must name at least one action"
    extra = sorted(set(actions) - set(allowed))
    return f"may name only {', '.join(allowed)}, not {', '.join(extra)}" if extra else None


def _projection_problems(index: int, projection: ProjectionSettings, settings: CqrsSettings) -> list[str]:
    where = f"projections[{index}]"
    known = {model.name for model in settings.read_models}
    problems = [
        f"{where}.read_models: {name!r} is not one of this component's read models"
        for name in projection.read_models
        if name not in known
    ]
    for model, actions in (projection.read_model_actions or {}).items():
        if model not in projection.read_models:
            problems.append(f"{where}.read_model_actions: {model!r} is not one of the projection's read_models")
        elif problem := _actions_problem(actions, READ_MODEL_ACTIONS):
            problems.append(f"{where}.read_model_actions[{model!r}] {problem}")
    problems += [
        f"{where}.filter_patterns[{i}] must be a non-empty JSON object"
        for i, pattern in enumerate(projection.filter_patterns)
        if not pattern
    ]
    return problems


def cqrs_problems(settings: CqrsSettings) -> list[str]:
    """Every problem across the fields of ``settings``: tables, names, references, and each function's arguments."""
    problems = [*_write_table_problems(settings), *_read_model_problems(settings), *_duplicate_problems(settings)]
    for label, handlers in (("command_handlers", settings.command_handlers), ("projections", settings.projections)):
        for index, handler in enumerate(handlers):
            problems += [
                f"{label}[{index}]: {p}"
                for p in function_problems(handler.name, pattern_function_args(handler, settings))
            ]
    for index, projection in enumerate(settings.projections):
        problems += _projection_problems(index, projection, settings)
    return problems


def _read_model_grants(projection: ProjectionSettings, tables: Mapping[str, Table]) -> list[Grant]:
    """One grant per distinct action set over the projection's read models (all five actions unless narrowed)."""
    narrowed = projection.read_model_actions or {}
    by_actions: dict[tuple[str, ...], list[pulumi.Input[str]]] = {}
    for model in projection.read_models:
        actions = tuple(sorted(narrowed.get(model, READ_MODEL_ACTIONS)))
        by_actions.setdefault(actions, []).append(tables[model].table_arn)
    return [grant(actions, arns) for actions, arns in by_actions.items()]


def _settings(args: CqrsArgs, subject: str) -> CqrsSettings:
    """``args`` resolved, or one :class:`ArgumentError`: every field's problems, else every rule's."""
    settings, problems = settings_problems(CqrsSettings, args)
    if settings is not None:
        problems = cqrs_problems(settings)
    if settings is None or problems:
        raise ArgumentError(subject, problems)
    return settings


class Cqrs(pulumi.ComponentResource):
    """Write model, stream projections and read models. See :class:`CqrsArgs`."""

    settings: CqrsSettings
    write_table_name: pulumi.Output[str]
    write_table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]
    read_models: dict[str, Table]
    command_functions: dict[str, Function]
    projections: dict[str, ProjectionOutputs]

    def __init__(self, name: str, args: CqrsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Cqrs", name, None, opts)
        settings = self.settings = _settings(args, f"Cqrs {name!r}")
        child = pulumi.ResourceOptions(parent=self)
        table_name, table_arn, stream_arn = self._write_table(name, settings)

        self.read_models = {}
        for model in settings.read_models:
            table = Table(
                f"{name}-{model.name}",
                _read_model_args(model, settings),
                opts=child,
            )
            self.read_models[model.name] = table

        self.command_functions = {}
        for command in settings.command_handlers:
            function_args = pattern_function_args(
                command,
                settings,
                {"WRITE_TABLE": table_name},
                [grant(command.write_actions, [table_arn]), *self._key_grants()],
            )
            self.command_functions[command.name] = Function(f"{name}-{command.name}", function_args, opts=child)

        self.projections = {
            projection.name: self._projection(name, projection, table_name, stream_arn)
            for projection in settings.projections
        }

        self.write_table_name, self.write_table_arn, self.stream_arn = table_name, table_arn, stream_arn
        self.register_outputs(
            {
                "write_table_name": table_name,
                "write_table_arn": table_arn,
                "stream_arn": stream_arn,
                "read_model_tables": {n: t.table_name for n, t in self.read_models.items()},
                "command_functions": {n: f.function_name for n, f in self.command_functions.items()},
                "projection_functions": {n: p.function_name for n, p in self.projections.items()},
                "failure_queue_urls": {n: p.failure_queue_url for n, p in self.projections.items()},
            }
        )

    def _key_grants(self) -> list[Grant]:
        """What the component's functions need of its customer key (none without one)."""
        key = self.settings.kms_key_arn
        if key is None:
            return []
        return [kms_use_grant(key)]

    def _write_table(
        self, name: str, settings: CqrsSettings
    ) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        """The write table's name, ARN and stream ARN: the given table's, or those of the table created here."""
        existing = settings.existing_write_table
        if existing is not None:
            return (
                pulumi.Output.from_input(existing.table_name),
                pulumi.Output.from_input(existing.table_arn),
                pulumi.Output.from_input(existing.stream_arn),
            )
        assert settings.write_table is not None  # one of the two, by _write_table_problems
        resource_name = f"{name}-{WRITE_TABLE}"
        table_args = _write_table_args(settings.write_table, settings)
        table = Table(resource_name, table_args, opts=pulumi.ResourceOptions(parent=self))
        assert table.stream_arn is not None  # the write table always streams
        return table.table_name, table.table_arn, table.stream_arn

    def _projection(
        self,
        name: str,
        projection: ProjectionSettings,
        table_name: pulumi.Output[str],
        stream_arn: pulumi.Output[str],
    ) -> ProjectionOutputs:
        settings = self.settings
        prefix = f"{name}-{projection.name}"
        child = pulumi.ResourceOptions(parent=self)
        failure_args: FailureQueueArgs = {"alarm_topic_arn": settings.alarm_topic_arn}
        if settings.kms_key_arn is not None:
            failure_args["kms_key_arn"] = settings.kms_key_arn
        failures = FailureQueue(f"{prefix}-failures", failure_args, opts=child)
        models = [self.read_models[m] for m in projection.read_models]
        environment: dict[str, pulumi.Input[str]] = {
            "WRITE_TABLE": table_name,
            FAILURE_QUEUE_ENV: failures.queue_url,  # where the handler parks records it can never process
        }
        environment.update({env_name(m): t.table_name for m, t in zip(projection.read_models, models, strict=True)})
        grants = [
            grant(STREAM_ACTIONS, [stream_arn]),
            star_grant(["dynamodb:ListStreams"], STAR_RESOURCE_ACTIONS["dynamodb:ListStreams"]),
            # The mapping's on-failure destination is sent with the function's own role, and so are parked records.
            grant(["sqs:SendMessage"], [failures.queue_arn]),
            *_read_model_grants(projection, self.read_models),
            *self._key_grants(),  # the stream, the read models and the failure queue are under the key
        ]
        function_args = pattern_function_args(projection, settings, environment, grants)
        function = Function(f"{prefix}-projection", function_args, opts=child)
        patterns = projection.filter_patterns
        aws.lambda_.EventSourceMapping(
            f"{prefix}-mapping",
            event_source_arn=stream_arn,
            function_name=function.function_arn,
            starting_position="TRIM_HORIZON",
            batch_size=projection.batch_size,
            maximum_batching_window_in_seconds=projection.batching_window_seconds,
            bisect_batch_on_function_error=projection.bisect_on_error,
            maximum_retry_attempts=projection.max_retry_attempts,
            maximum_record_age_in_seconds=projection.max_record_age_seconds,
            parallelization_factor=projection.parallelization_factor,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": failures.queue_arn}},
            filter_criteria={"filters": [{"pattern": json.dumps(p, sort_keys=True)} for p in patterns]}
            if patterns
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        threshold = projection.iterator_age_alarm_ms
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
            settings.alarm_topic_arn,
            self,
        )
        return ProjectionOutputs(function.function_name, failures.queue_url, failures.queue_arn)
