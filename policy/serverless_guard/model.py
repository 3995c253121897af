"""What every rule reads and returns: resources as plain data, and violations that say what is wrong and how to fix
it.

Property names are the engine's (``messageRetentionSeconds``, ``tracingConfig.mode``). A value the engine does not
know yet (an ARN during the first ``pulumi preview``) is :data:`UNKNOWN`: rules judge only what is known, and
``pulumi up`` runs them again once the values are known.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "CONFIG_PROPERTIES",
    "UNKNOWN",
    "GuardConfig",
    "Resource",
    "ResourceRule",
    "StackRule",
    "Violation",
    "describe",
    "json_field",
    "json_value",
    "number",
    "statements",
    "violation",
]


class _Unknown:
    """A value not known before deployment."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True)
class Resource:
    """One resource: its inputs (resource rules) or outputs (stack rules), and whom it depends on."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    #: top-level property → URNs of the resources its value came from (resolves references still unknown).
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, *path: str | int) -> Any:
        """The value at ``path`` (None when absent, :data:`UNKNOWN` when not known yet)."""
        value: Any = self.props
        for key in path:
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(key, str) and isinstance(value, Mapping):
                value = value.get(key)
            elif isinstance(key, int) and isinstance(value, Sequence) and not isinstance(value, str):
                value = value[key] if -len(value) <= key < len(value) else None
            else:
                return None
        return value


@dataclass(frozen=True)
class Violation:
    urn: str
    message: str


@dataclass(frozen=True)
class GuardConfig:
    """The pack's settings (one CrossGuard config schema per policy, see :data:`CONFIG_PROPERTIES`)."""

    runtime: str = "python3.13"
    required_tags: tuple[str, ...] = ("project", "stack", "owner", "cost-center")
    require_customer_keys: bool = False

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> GuardConfig:
        """Settings from a policy's config (the CLI fills in the schema's defaults; tests may pass nothing)."""
        config = config or {}
        default = cls()
        tags = config.get("requiredTags")
        return cls(
            runtime=str(config.get("runtime", default.runtime)),
            required_tags=(
                tuple(str(t) for t in tags)
                if isinstance(tags, Sequence) and not isinstance(tags, str)
                else default.required_tags
            ),
            require_customer_keys=bool(config.get("requireCustomerKeys", default.require_customer_keys)),
        )


#: The JSON schema of each setting, by its config name; a policy's schema holds the settings its rule reads.
CONFIG_PROPERTIES: Mapping[str, Mapping[str, Any]] = {
    "runtime": {
        "type": "string",
        "default": GuardConfig.runtime,
        "description": "The Lambda runtime every function must use (the newest the library supports).",
    },
    "requiredTags": {
        "type": "array",
        "items": {"type": "string"},
        "default": list(GuardConfig.required_tags),
        "description": "Tag keys the AWS provider's default_tags must set, so every resource carries them.",
    },
    "requireCustomerKeys": {
        "type": "boolean",
        "default": GuardConfig.require_customer_keys,
        "description": "Require customer-managed KMS keys on tables, queues, topics and log groups (prod).",
    },
}

ResourceCheck = Callable[[Resource, GuardConfig], Iterable[Violation]]
StackCheck = Callable[[Sequence[Resource], GuardConfig], Iterable[Violation]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule over one resource of ``types`` at a time (a CrossGuard resource validation)."""

    name: str
    description: str
    types: frozenset[str]
    check: ResourceCheck
    config: tuple[str, ...] = ()
    #: the cdk-nag rules this one stands for, if any (documentation)
    cdk_nag: tuple[str, ...] = ()

    def run(self, resource: Resource, config: GuardConfig) -> list[Violation]:
        return list(self.check(resource, config)) if resource.type in self.types else []


@dataclass(frozen=True)
class StackRule:
    """A rule over the whole stack (a CrossGuard stack validation): relations between resources."""

    name: str
    description: str
    check: StackCheck
    config: tuple[str, ...] = ()
    cdk_nag: tuple[str, ...] = ()

    def run(self, resources: Sequence[Resource], config: GuardConfig) -> list[Violation]:
        return list(self.check(resources, config))


_KINDS = {
    "pulumi:providers:aws": "AWS provider",
    "aws:lambda/function:Function": "Lambda function",
    "aws:lambda/permission:Permission": "Lambda permission",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "event source mapping",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "async invoke config",
    "aws:sqs/queue:Queue": "SQS queue",
    "aws:sqs/queuePolicy:QueuePolicy": "SQS queue policy",
    "aws:sns/topic:Topic": "SNS topic",
    "aws:sns/topicPolicy:TopicPolicy": "SNS topic policy",
    "aws:sns/topicSubscription:TopicSubscription": "SNS subscription",
    "aws:dynamodb/table:Table": "DynamoDB table",
    "aws:sfn/stateMachine:StateMachine": "state machine",
    "aws:scheduler/schedule:Schedule": "schedule",
    "aws:cloudwatch/eventTarget:EventTarget": "EventBridge target",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "composite alarm",
    "aws:cloudwatch/logGroup:LogGroup": "log group",
    "aws:kms/key:Key": "KMS key",
    "aws:iam/role:Role": "IAM role",
    "aws:iam/rolePolicy:RolePolicy": "IAM role policy",
    "aws:iam/policy:Policy": "IAM policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM role policy attachment",
    "aws:iam/policyAttachment:PolicyAttachment": "IAM policy attachment",
}


def describe(resource: Resource) -> str:
    """``SQS queue 'orders-dlq'``: what the resource is and its name in the program."""
    return f"{_KINDS.get(resource.type, resource.type)} '{resource.name}'"


def violation(resource: Resource, problem: str, fix: str) -> Violation:
    """A violation naming ``resource``, what is wrong with it and how to fix it."""
    return Violation(resource.urn, f"{describe(resource)}: {problem}. Fix: {fix}")


def json_value(value: Any) -> Any:
    """A JSON document given as a string (as most AWS policy inputs are) or already as data; None if unreadable."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def json_field(value: Any, key: str) -> Any:
    """``key`` of a JSON object given as a string (a redrive policy); :data:`UNKNOWN` while the string is."""
    if value is UNKNOWN:
        return UNKNOWN
    document = json_value(value)
    return document.get(key) if isinstance(document, Mapping) else None


def number(value: Any) -> float | None:
    """A number input (the engine passes numbers as floats, providers sometimes as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document (one statement may be given without a list)."""
    found = json_value(document)
    if not isinstance(found, Mapping):
        return []
    listed = found.get("Statement")
    if isinstance(listed, Mapping):
        return [listed]
    return [s for s in listed if isinstance(s, Mapping)] if isinstance(listed, list) else []
