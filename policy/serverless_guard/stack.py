"""The stack as the stack rules see it: resources by type and the references between them.

A reference (a queue's redrive target, an alarm's dimension, a mapping's function) is matched by the identifier it
holds: an ARN, a name or a URL of a resource in the stack. While that value is still unknown (first preview), the
engine's property dependencies say which resource it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from serverless_guard.model import UNKNOWN, Resource, json_field
from serverless_guard.types import (
    ALARM,
    EVENT_TARGET,
    FUNCTION,
    INVOKE_CONFIG,
    MAPPING,
    QUEUE,
    REDRIVE_ALLOW,
    SCHEDULE,
    STATE_MACHINE,
    SUBSCRIPTION,
    TABLE,
)

__all__ = ["Stack", "function_name_of"]

_IDENTIFIERS = ("arn", "name", "url", "id")
#: alarm dimension → the type of the resource it names
ALARM_DIMENSIONS = {
    "QueueName": QUEUE,
    "FunctionName": FUNCTION,
    "TableName": TABLE,
    "StateMachineArn": STATE_MACHINE,
}


def function_name_of(reference: str) -> str:
    """The function a Lambda reference names: a name, a partial or full ARN, with or without a qualifier."""
    if ":function:" in reference:
        reference = reference.split(":function:", 1)[1]
    return reference.split(":", 1)[0]


def _matches(reference: str, target: Resource) -> bool:
    if target.type == FUNCTION:
        name = target.get("name")
        return isinstance(name, str) and function_name_of(reference) == name
    if target.type == TABLE and "/stream/" in reference:
        reference = reference.split("/stream/", 1)[0]
    return any(reference == target.get(key) for key in _IDENTIFIERS if isinstance(target.get(key), str))


class Stack:
    """The stack's resources, indexed for the stack rules."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[Resource]] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for t in types for r in self._by_type.get(t, [])]

    def referenced(self, holder: Resource, prop: str, value: Any, candidates: Iterable[Resource]) -> list[Resource]:
        """The ``candidates`` that ``value`` (held in ``holder``'s top-level property ``prop``) refers to."""
        if isinstance(value, str):
            return [c for c in candidates if _matches(value, c)]
        if value is UNKNOWN:
            sources = set(holder.property_dependencies.get(prop, ()))
            return [c for c in candidates if c.urn in sources]
        return []

    def dead_letter_queues(self) -> set[str]:
        """URNs of the queues that receive failures: a redrive target of a queue or subscription, an on-failure
        destination (mapping, async invoke), a function's, schedule's or EventBridge target's DLQ, or a queue with a
        redrive-allow policy."""
        queues = self.of_type(QUEUE)
        found: set[str] = set()

        def mark(holder: Resource, prop: str, value: Any) -> None:
            found.update(q.urn for q in self.referenced(holder, prop, value, queues))

        for r in self.resources:
            if r.type in (QUEUE, SUBSCRIPTION):
                mark(r, "redrivePolicy", json_field(r.get("redrivePolicy"), "deadLetterTargetArn"))
            if r.type == QUEUE and r.get("redriveAllowPolicy") not in (None, ""):
                found.add(r.urn)
            elif r.type == MAPPING:
                mark(r, "destinationConfig", r.get("destinationConfig", "onFailure", "destinationArn"))
            elif r.type == INVOKE_CONFIG:
                mark(r, "destinationConfig", r.get("destinationConfig", "onFailure", "destination"))
            elif r.type == FUNCTION:
                mark(r, "deadLetterConfig", r.get("deadLetterConfig", "targetArn"))
            elif r.type == SCHEDULE:
                mark(r, "target", r.get("target", "deadLetterConfig", "arn"))
            elif r.type == EVENT_TARGET:
                mark(r, "deadLetterConfig", r.get("deadLetterConfig", "arn"))
            elif r.type == REDRIVE_ALLOW:
                mark(r, "queueUrl", r.get("queueUrl"))
        return found

    def alarmed_metrics(self) -> dict[str, set[str]]:
        """URN of each resource an alarm watches → the metric names watched on it (metric-math alarms included)."""
        candidates = {kind: self.of_type(kind) for kind in set(ALARM_DIMENSIONS.values())}
        watched: dict[str, set[str]] = {}

        def watch(alarm: Resource, prop: str, metric: Any, dimensions: Any) -> None:
            if dimensions is UNKNOWN:
                for kind in candidates.values():
                    for r in self.referenced(alarm, prop, UNKNOWN, kind):
                        watched.setdefault(r.urn, set()).add(str(metric))
                return
            if not isinstance(dimensions, Mapping):
                return
            for key, value in dimensions.items():
                kind = ALARM_DIMENSIONS.get(key)
                for r in self.referenced(alarm, prop, value, candidates.get(kind, []) if kind else []):
                    watched.setdefault(r.urn, set()).add(str(metric))

        for alarm in self.of_type(ALARM):
            watch(alarm, "dimensions", alarm.get("metricName"), alarm.get("dimensions"))
            queries = alarm.get("metricQueries")
            if isinstance(queries, Sequence) and not isinstance(queries, str):
                for query in queries:
                    metric = query.get("metric") if isinstance(query, Mapping) else None
                    if isinstance(metric, Mapping):
                        watch(alarm, "metricQueries", metric.get("metricName"), metric.get("dimensions"))
        return watched
