"""CloudWatch: alarms that notify someone, log groups that expire, and an alarm on every function, table and
dead-letter or failure queue (matched by the alarm's dimensions, metric-math queries included)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, StackRule, Violation, violation
from serverless_guard.stack import Stack
from serverless_guard.types import ALARM, COMPOSITE_ALARM, FUNCTION, LOG_GROUP, QUEUE, TABLE

__all__ = ["RULES"]


def _alarm_actions(alarm: Resource, _: GuardConfig) -> Iterator[Violation]:
    actions = alarm.get("alarmActions")
    if alarm.get("actionsEnabled") is False:
        yield violation(alarm, "has its actions disabled: it fires silently", "remove actions_enabled=False")
    elif actions is not UNKNOWN and not actions:
        yield violation(alarm, "notifies no one when it fires", "set alarm_actions=[<alarm topic ARN>]")


def _log_retention(group: Resource, _: GuardConfig) -> Iterator[Violation]:
    days = group.get("retentionInDays")
    if days is not UNKNOWN and not (isinstance(days, int | float) and not isinstance(days, bool) and days > 0):
        yield violation(group, "keeps logs forever", "set retention_in_days (e.g. 30, 90 in prod)")


def _alarmed(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    watched = stack.alarmed_metrics()
    dead_letters = stack.dead_letter_queues()
    what = {
        FUNCTION: "Errors, Throttles and Duration (dimension FunctionName)",
        TABLE: "ReadThrottleEvents, WriteThrottleEvents and SystemErrors (dimension TableName)",
        QUEUE: "ApproximateNumberOfMessagesVisible >= 1 (dimension QueueName)",
    }
    for resource in stack.of_type(FUNCTION, TABLE, QUEUE):
        if resource.type == QUEUE and resource.urn not in dead_letters:
            continue
        if resource.urn not in watched:
            kind = "receives failures but" if resource.type == QUEUE else ""
            yield violation(
                resource,
                f"{kind} has no alarm: nobody hears when it fails".strip(),
                f"add a CloudWatch alarm on {what[resource.type]} notifying the alarm topic",
            )


RULES = [
    ResourceRule(
        "cloudwatch-alarm-actions",
        "Every CloudWatch alarm has at least one alarm action.",
        frozenset({ALARM, COMPOSITE_ALARM}),
        _alarm_actions,
    ),
    ResourceRule(
        "cloudwatch-log-group-retention",
        "Every log group has a retention period.",
        frozenset({LOG_GROUP}),
        _log_retention,
        cdk_nag=("Serverless-CloudWatchLogGroupRetentionPeriod",),
    ),
    StackRule(
        "cloudwatch-resources-alarmed",
        "Every Lambda function, DynamoDB table and dead-letter or failure queue has at least one alarm on it.",
        _alarmed,
    ),
]
