"""The table block: on-demand DynamoDB with point-in-time recovery and encryption at rest.

AWS-owned encryption by default (no key cost, no key policy to manage), a customer key optional; TTL, GSIs,
streams and deletion protection come from arguments. Attribute definitions are derived from the keys, so an
index can never name an undeclared attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, get_args

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.alarms import AlarmSpec, MathAlarmSpec, MathMetric, math_alarm, metric_alarm
from serverless_patterns.internals.settings import setting, settings_problems, typed_settings
from serverless_patterns.internals.validation import ArgumentError

__all__ = [
    "GlobalIndex",
    "GlobalIndexSettings",
    "KeyAttribute",
    "KeyAttributeSettings",
    "Table",
    "TableArgs",
    "TableSettings",
    "table_problems",
]

AttributeType = Literal["S", "N", "B"]
StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]
Projection = Literal["ALL", "KEYS_ONLY", "INCLUDE"]
_MAX_GSIS = 20  # per table, DynamoDB's limit
_MAX_ATTRIBUTE_NAME = 255  # characters of a key attribute's name


class KeyAttribute(TypedDict):
    name: str
    type: AttributeType


class GlobalIndex(TypedDict):
    """A global secondary index (defaults and rules: :class:`GlobalIndexSettings`)."""

    name: str
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    projection: NotRequired[Projection]
    non_key_attributes: NotRequired[list[str]]


class TableArgs(TypedDict):
    """Arguments of :class:`Table` (defaults and rules: :class:`TableSettings`)."""

    alarm_topic_arn: pulumi.Input[str]
    partition_key: KeyAttribute
    sort_key: NotRequired[KeyAttribute]
    global_indexes: NotRequired[list[GlobalIndex]]
    ttl_attribute: NotRequired[str]
    stream_view_type: NotRequired[StreamView]
    deletion_protection: NotRequired[bool]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    alarm_operations: NotRequired[list[str]]


def _non_empty(most: int | None = None) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        if not value:
            return "must be a non-empty string, got ''"
        return f"must be at most {most} characters, got {len(value)}" if most and len(value) > most else None

    return problem


@dataclass(frozen=True)
class KeyAttributeSettings:
    """:class:`KeyAttribute` resolved."""

    name: str = setting(check=_non_empty(_MAX_ATTRIBUTE_NAME), doc="the attribute's name")
    type: str = setting(choices=get_args(AttributeType), doc="S (string), N (number) or B (binary)")


@dataclass(frozen=True)
class GlobalIndexSettings:
    """:class:`GlobalIndex` resolved."""

    name: str = setting(doc="unique in the table")
    partition_key: KeyAttributeSettings = setting(doc='`{"name": ..., "type": ...}`')
    sort_key: KeyAttributeSettings | None = setting(None)
    projection: str = setting("ALL", choices=get_args(Projection))
    non_key_attributes: tuple[str, ...] = setting((), doc="projected attributes, with INCLUDE (and only with it)")


#: DynamoDB operations that publish SystemErrors; a table alarms on those it is used with (at most 10 per alarm).
DYNAMODB_OPERATIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
    "GetRecords",
)
ALARMED_OPERATIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "GetRecords",
)
_MAX_ALARM_METRICS = 10  # CloudWatch: metrics in one alarm's math expression


def _operations_problem(operations: tuple[str, ...]) -> str | None:
    unknown = [o for o in operations if o not in DYNAMODB_OPERATIONS]
    if not 1 <= len(operations) <= _MAX_ALARM_METRICS or len(set(operations)) != len(operations) or unknown:
        return (
            f"must name 1 to {_MAX_ALARM_METRICS} distinct DynamoDB operations "
            f"({', '.join(DYNAMODB_OPERATIONS)}); got {list(operations)}"
        )
    return None


@dataclass(frozen=True)
class TableSettings:
    """:class:`TableArgs` resolved: every default and rule of the table block."""

    alarm_topic_arn: pulumi.Input[str] = setting(arn=True, doc="every table alarm notifies it")
    partition_key: KeyAttributeSettings = setting(doc='`{"name": ..., "type": "S" \\| "N" \\| "B"}`')
    sort_key: KeyAttributeSettings | None = setting(None, doc="the same shape")
    global_indexes: tuple[GlobalIndexSettings, ...] = setting((), doc=f"at most {_MAX_GSIS}, below")
    ttl_attribute: str | None = setting(None, check=_non_empty(), doc="not a key attribute")
    stream_view_type: str | None = setting(None, choices=get_args(StreamView), default_doc="no stream")
    deletion_protection: bool = setting(
        True, doc="AWS's deletion protection and Pulumi's `protect`: a stateful table is never deleted by accident"
    )
    kms_key_arn: pulumi.Input[str] | None = setting(None, arn=True, default_doc="AWS-owned key", doc="a customer key")
    alarm_operations: tuple[str, ...] = setting(
        ALARMED_OPERATIONS,
        check=_operations_problem,
        default_doc="the data-plane operations and GetRecords",
        doc="the operations whose SystemErrors the table alarms on (CloudWatch publishes them per operation; "
        "at most 10 in one alarm)",
    )


def _keys(settings: TableSettings) -> list[tuple[str, KeyAttributeSettings]]:
    keys = [("partition_key", settings.partition_key)]
    if settings.sort_key is not None:
        keys.append(("sort_key", settings.sort_key))
    for i, index in enumerate(settings.global_indexes):
        keys.append((f"global_indexes[{i}].partition_key", index.partition_key))
        if index.sort_key is not None:
            keys.append((f"global_indexes[{i}].sort_key", index.sort_key))
    return keys


def _attribute_problems(settings: TableSettings) -> list[str]:
    """One attribute has one type, wherever it is a key."""
    problems: list[str] = []
    seen: dict[str, tuple[str, str]] = {}  # name → (type, where it was first declared)
    for where, key in _keys(settings):
        if key.name in seen and seen[key.name][0] != key.type:
            kind, first = seen[key.name]
            problems.append(f"{where}: attribute {key.name!r} is {key.type} here but {kind} in {first}")
        seen.setdefault(key.name, (key.type, where))
    return problems


def _index_problems(settings: TableSettings) -> list[str]:
    indexes = settings.global_indexes
    problems = (
        [f"global_indexes: at most {_MAX_GSIS} per table, got {len(indexes)}"] if len(indexes) > _MAX_GSIS else []
    )
    names = [index.name for index in indexes]
    problems += [
        f"global_indexes: duplicate index name {dup!r}" for dup in sorted({n for n in names if names.count(n) > 1})
    ]
    problems += [
        f"global_indexes[{i}]: non_key_attributes are required with INCLUDE and only with INCLUDE"
        for i, index in enumerate(indexes)
        if bool(index.non_key_attributes) != (index.projection == "INCLUDE")
    ]
    return problems


def _ttl_problems(settings: TableSettings) -> list[str]:
    ttl = settings.ttl_attribute
    if ttl is not None and ttl in {key.name for _, key in _keys(settings)}:
        return [f"ttl_attribute {ttl!r} may not be a key attribute"]
    return []


_CROSS_FIELD_RULES: tuple[Callable[[TableSettings], list[str]], ...] = (
    _attribute_problems,
    _index_problems,
    _ttl_problems,
)


def _checked(args: Any) -> tuple[TableSettings | None, list[str]]:
    settings, problems = settings_problems(TableSettings, args)
    typed = settings or typed_settings(TableSettings, args)
    if typed is not None:
        problems += [problem for rule in _CROSS_FIELD_RULES for problem in rule(typed)]
    return (settings if not problems else None), problems


def table_problems(args: TableArgs) -> list[str]:
    """Every problem of ``args`` (for patterns that validate a table they will build, before building anything)."""
    return _checked(args)[1]


class Table(pulumi.ComponentResource):
    """A DynamoDB table. See :class:`TableArgs`."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None
    settings: TableSettings

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Table", name, None, opts)
        settings, problems = _checked(args)
        if settings is None:
            raise ArgumentError(f"Table {name!r}", problems or ["the arguments could not be read"])
        self.settings = settings

        attributes: dict[str, str] = {}
        for _, key in _keys(settings):
            attributes.setdefault(key.name, key.type)
        indexes: list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = [
            {
                "name": index.name,
                "key_schemas": [
                    {"attribute_name": index.partition_key.name, "key_type": "HASH"},
                    *([{"attribute_name": index.sort_key.name, "key_type": "RANGE"}] if index.sort_key else []),
                ],
                "projection_type": index.projection,
                "non_key_attributes": list(index.non_key_attributes) or None,
            }
            for index in settings.global_indexes
        ]
        key_arn = settings.kms_key_arn
        stream = settings.stream_view_type
        table = aws.dynamodb.Table(
            name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=settings.partition_key.name,
            range_key=settings.sort_key.name if settings.sort_key is not None else None,
            attributes=[{"name": n, "type": t} for n, t in attributes.items()],
            global_secondary_indexes=indexes or None,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": key_arn} if key_arn is not None else None,
            ttl=(
                {"attribute_name": settings.ttl_attribute, "enabled": True}
                if settings.ttl_attribute is not None
                else None
            ),
            stream_enabled=stream is not None,
            stream_view_type=stream,
            deletion_protection_enabled=settings.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.deletion_protection),
        )
        self._alarms(name, table.name, settings)
        self.table_name = table.name
        self.table_arn = table.arn
        self.stream_arn = table.stream_arn if stream is not None else None
        outputs: dict[str, pulumi.Input[str]] = {"table_name": table.name, "table_arn": table.arn}
        if stream is not None:
            outputs["stream_arn"] = table.stream_arn
        self.register_outputs(outputs)

    def _alarms(self, name: str, table_name: pulumi.Output[str], settings: TableSettings) -> None:
        """Throttled reads and writes, and DynamoDB's own errors (SystemErrors, published per operation, summed)."""
        topic = settings.alarm_topic_arn
        for metric, label in (("ReadThrottleEvents", "read"), ("WriteThrottleEvents", "write")):
            metric_alarm(
                f"{name}-{label}-throttles",
                AlarmSpec(
                    "AWS/DynamoDB",
                    metric,
                    {"TableName": table_name},
                    1,
                    f"{metric} on the table: requests are being throttled.",
                    period_seconds=300,
                ),
                topic,
                self,
            )
        operations = settings.alarm_operations
        metrics = [
            MathMetric(f"m{i}", "AWS/DynamoDB", "SystemErrors", {"TableName": table_name, "Operation": op})
            for i, op in enumerate(operations)
        ]
        math_alarm(
            f"{name}-system-errors",
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
