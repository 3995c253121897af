"""DynamoDB: point-in-time recovery, coherent encryption settings and the alarms every table needs.

DynamoDB always encrypts at rest (an AWS-owned key unless told otherwise); a customer key is required where the
pack's ``requireCustomerKeys`` is on (:mod:`serverless_guard.keys`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, StackRule, Violation, violation
from serverless_guard.stack import Stack
from serverless_guard.types import TABLE

__all__ = ["RULES", "TABLE_METRICS"]

#: What every table is alarmed on: throttling either way, and DynamoDB's own errors.
TABLE_METRICS = ("ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors")


def _pitr(table: Resource, _: GuardConfig) -> Iterator[Violation]:
    if table.get("pointInTimeRecovery", "enabled") not in (True, UNKNOWN):
        yield violation(
            table,
            "has no point-in-time recovery: a bad write or delete cannot be undone",
            "set point_in_time_recovery={'enabled': True}",
        )


def _encryption(table: Resource, _: GuardConfig) -> Iterator[Violation]:
    enabled, key = table.get("serverSideEncryption", "enabled"), table.get("serverSideEncryption", "kmsKeyArn")
    if enabled is False and key not in (None, ""):
        yield violation(
            table,
            "names a KMS key but leaves server_side_encryption disabled, so DynamoDB ignores the key",
            "set server_side_encryption={'enabled': True, 'kms_key_arn': ...} (or drop the key)",
        )


def _alarms(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    watched = stack.alarmed_metrics()
    for table in stack.of_type(TABLE):
        missing = [m for m in TABLE_METRICS if m not in watched.get(table.urn, set())]
        if missing:
            yield violation(
                table,
                f"has no alarm on {', '.join(missing)}",
                "add CloudWatch alarms with dimension TableName on each (SystemErrors per operation may be one "
                "metric-math alarm), notifying the alarm topic",
            )


RULES = [
    ResourceRule(
        "dynamodb-pitr",
        "DynamoDB tables have point-in-time recovery on.",
        frozenset({TABLE}),
        _pitr,
        cdk_nag=("AwsSolutions-DDB3",),
    ),
    ResourceRule(
        "dynamodb-encryption",
        "A DynamoDB table that names a KMS key has server-side encryption enabled with it.",
        frozenset({TABLE}),
        _encryption,
    ),
    StackRule(
        "dynamodb-alarms",
        "Every DynamoDB table is alarmed on ReadThrottleEvents, WriteThrottleEvents and SystemErrors.",
        _alarms,
    ),
]
