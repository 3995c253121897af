"""EventBridge Scheduler schedules and EventBridge rule targets: retries chosen, and a dead-letter queue for the
events that still cannot be delivered."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from serverless_guard.model import GuardConfig, Resource, ResourceRule, Violation, violation
from serverless_guard.types import EVENT_TARGET, SCHEDULE

__all__ = ["RULES"]

_RETRY_KEYS = ("maximumRetryAttempts", "maximumEventAgeInSeconds")


def _delivery(resource: Resource, target: Any, where: str) -> Iterator[Violation]:
    if not isinstance(target, Mapping):
        return
    retry = target.get("retryPolicy")
    if not isinstance(retry, Mapping) or any(retry.get(key) is None for key in _RETRY_KEYS):
        yield violation(
            resource,
            f"{where}has no retry policy with both maximum retry attempts and maximum event age",
            "set retry_policy={'maximum_retry_attempts': ..., 'maximum_event_age_in_seconds': ...}",
        )
    dead_letter = target.get("deadLetterConfig")
    if not isinstance(dead_letter, Mapping) or dead_letter.get("arn") in (None, ""):
        yield violation(
            resource,
            f"{where}has no dead-letter queue: an event that cannot be delivered is dropped",
            "set dead_letter_config={'arn': <queue ARN>} and let the service send to that queue",
        )


def _schedule(schedule: Resource, _: GuardConfig) -> Iterator[Violation]:
    yield from _delivery(schedule, schedule.get("target"), "its target ")


def _event_target(target: Resource, _: GuardConfig) -> Iterator[Violation]:
    yield from _delivery(target, target.props, "")


RULES = [
    ResourceRule(
        "scheduler-retry-and-dlq",
        "Every EventBridge Scheduler target has a retry policy and a dead-letter queue.",
        frozenset({SCHEDULE}),
        _schedule,
    ),
    ResourceRule(
        "eventbridge-target-retry-and-dlq",
        "Every EventBridge rule target has a retry policy and a dead-letter queue.",
        frozenset({EVENT_TARGET}),
        _event_target,
        cdk_nag=("Serverless-EventBusDLQ",),
    ),
]
