"""The rules as a CrossGuard policy pack: each rule becomes a ``pulumi_policy`` policy whose validation converts
the engine's arguments into :class:`~serverless_guard.model.Resource` s and reports the rule's violations.

:func:`policies` builds the pack's policies without serving them (tests call them with arguments they construct);
:func:`serve` starts the pack, as the Pulumi CLI runs ``__main__.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from serverless_guard import (
    functions,
    iam,
    keys,
    mappings,
    monitoring,
    provider,
    queues,
    schedules,
    state_machines,
    tables,
    topics,
)
from serverless_guard.model import CONFIG_PROPERTIES, UNKNOWN, GuardConfig, Resource, ResourceRule, StackRule

__all__ = ["PACK_NAME", "RULES", "plain", "policies", "resource_from_args", "resource_from_policy", "serve"]

PACK_NAME = "serverless-patterns"
DESCRIPTION = (
    "Production-grade by default, checked: the serverless-patterns guardrails for Lambda, SQS, SNS, DynamoDB, "
    "Step Functions, EventBridge Scheduler, IAM, KMS, CloudWatch and the AWS provider."
)
RULES: tuple[ResourceRule | StackRule, ...] = (
    *functions.RULES,
    *queues.RULES,
    *topics.RULES,
    *tables.RULES,
    *mappings.RULES,
    *state_machines.RULES,
    *schedules.RULES,
    *iam.RULES,
    *keys.RULES,
    *monitoring.RULES,
    *provider.RULES,
)
_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def plain(value: Any) -> Any:
    """The engine's property values (proxies raising on unknown values) as plain data with :data:`UNKNOWN`."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {key: _item(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_item(value, index) for index in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError:
        return UNKNOWN


def resource_from_args(args: ResourceValidationArgs) -> Resource:
    """The resource a resource validation judges (its inputs)."""
    return Resource(args.resource_type, args.name, args.urn, plain(args.props), args.opts.parent)


def resource_from_policy(resource: PolicyResource) -> Resource:
    """A resource of the stack a stack validation judges (its outputs, and whom it depends on)."""
    return Resource(
        resource.resource_type,
        resource.name,
        resource.urn,
        plain(resource.props),
        resource.parent.urn if resource.parent is not None else None,
        tuple(d.urn for d in resource.dependencies),
        {key: tuple(d.urn for d in deps) for key, deps in resource.property_dependencies.items()},
    )


def _schema(rule: ResourceRule | StackRule) -> PolicyConfigSchema | None:
    if not rule.config:
        return None
    return PolicyConfigSchema({key: dict(CONFIG_PROPERTIES[key]) for key in rule.config})


def _resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        for found in rule.run(resource_from_args(args), GuardConfig.from_mapping(args.get_config())):
            report(found.message, None)

    return ResourceValidationPolicy(
        rule.name,
        rule.description,
        validate,
        config_schema=_schema(rule),
        tags=list(rule.cdk_nag) or None,
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [resource_from_policy(r) for r in args.resources]
        for found in rule.run(resources, GuardConfig.from_mapping(args.get_config())):
            report(found.message, found.urn)

    return StackValidationPolicy(
        rule.name,
        rule.description,
        validate,
        config_schema=_schema(rule),
        tags=list(rule.cdk_nag) or None,
    )


def policies() -> list[Policy]:
    """The pack's policies, one per rule, in :data:`RULES` order."""
    return [_resource_policy(r) if isinstance(r, ResourceRule) else _stack_policy(r) for r in RULES]


def serve() -> None:
    """Start the policy pack (blocks; the Pulumi CLI runs it and talks to it over gRPC)."""
    PolicyPack(PACK_NAME, policies(), enforcement_level=EnforcementLevel.MANDATORY, description=DESCRIPTION)
