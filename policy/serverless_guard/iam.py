"""IAM: inline policies only, every action named, and Resource ``*`` only where AWS offers no resource scope.

:data:`STAR_RESOURCE_ACTIONS` and :data:`DOCUMENTED_SERVICE_WILDCARDS` mirror the library's lists in
``serverless_patterns.internals.iam`` (the pack runs without the library installed; a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from serverless_guard.model import GuardConfig, Resource, ResourceRule, Violation, statements, violation
from serverless_guard.types import (
    GROUP_POLICY,
    KEY,
    POLICY,
    POLICY_ATTACHMENT,
    QUEUE,
    QUEUE_POLICY,
    ROLE,
    ROLE_ATTACHMENTS_EXCLUSIVE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    TOPIC,
    TOPIC_POLICY,
    USER_POLICY,
)

__all__ = [
    "DOCUMENTED_SERVICE_WILDCARDS",
    "IDENTITY_POLICY_TYPES",
    "RESOURCE_POLICY_TYPES",
    "RULES",
    "STAR_RESOURCE_ACTIONS",
    "policy_documents",
]

_VPC_REASON = (
    "Lambda manages a VPC function's network interfaces with its role: the interfaces do not exist before Lambda "
    "creates them, and DescribeNetworkInterfaces has no resource-level scope"
)
_LOG_DELIVERY_REASON = "vended log delivery (Step Functions logging) has no resource-level scope"

#: Actions AWS authorises only on Resource "*", each with the reason it must be so.
STAR_RESOURCE_ACTIONS: Mapping[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace writes have no resource-level scope",
    "xray:PutTelemetryRecords": "X-Ray trace writes have no resource-level scope",
    "xray:GetSamplingRules": "X-Ray sampling reads have no resource-level scope",
    "xray:GetSamplingTargets": "X-Ray sampling reads have no resource-level scope",
    "dynamodb:ListStreams": "ListStreams has no resource-level scope; a stream mapping needs it",
    "logs:CreateLogDelivery": _LOG_DELIVERY_REASON,
    "logs:GetLogDelivery": _LOG_DELIVERY_REASON,
    "logs:UpdateLogDelivery": _LOG_DELIVERY_REASON,
    "logs:DeleteLogDelivery": _LOG_DELIVERY_REASON,
    "logs:ListLogDeliveries": _LOG_DELIVERY_REASON,
    "logs:PutResourcePolicy": _LOG_DELIVERY_REASON,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY_REASON,
    "logs:DescribeLogGroups": _LOG_DELIVERY_REASON,
    "cloudwatch:PutMetricData": "PutMetricData has no resource-level scope (restrict with cloudwatch:namespace)",
    "ec2:CreateNetworkInterface": _VPC_REASON,
    "ec2:DescribeNetworkInterfaces": _VPC_REASON,
    "ec2:DeleteNetworkInterface": _VPC_REASON,
    "ec2:AssignPrivateIpAddresses": _VPC_REASON,
    "ec2:UnassignPrivateIpAddresses": _VPC_REASON,
}

#: Policies attached to an identity (what a role may do): type → the property holding the document.
IDENTITY_POLICY_TYPES = {ROLE_POLICY: "policy", POLICY: "policy", USER_POLICY: "policy", GROUP_POLICY: "policy"}
#: Policies attached to a resource (who may use it), where Resource "*" means the resource itself.
RESOURCE_POLICY_TYPES = {
    QUEUE_POLICY: "policy",
    QUEUE: "policy",
    TOPIC_POLICY: "policy",
    TOPIC: "policy",
    KEY: "policy",
    ROLE: "assumeRolePolicy",
}


def policy_documents(resource: Resource) -> list[tuple[str, bool, Any]]:
    """(where, is an identity policy, document) of every policy document ``resource`` holds."""
    found: list[tuple[str, bool, Any]] = []
    if resource.type in IDENTITY_POLICY_TYPES:
        found.append((IDENTITY_POLICY_TYPES[resource.type], True, resource.get(IDENTITY_POLICY_TYPES[resource.type])))
    if resource.type == ROLE:
        for index, inline in enumerate(resource.get("inlinePolicies") or []):
            if isinstance(inline, Mapping):
                found.append((f"inline policy {inline.get('name') or index}", True, inline.get("policy")))
    if resource.type in RESOURCE_POLICY_TYPES:
        found.append((RESOURCE_POLICY_TYPES[resource.type], False, resource.get(RESOURCE_POLICY_TYPES[resource.type])))
    return [(where, identity, document) for where, identity, document in found if document not in (None, "")]


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else []


def _allows(document: Any) -> Iterator[Mapping[str, Any]]:
    yield from (s for s in statements(document) if s.get("Effect") == "Allow")


def _managed_policies(resource: Resource, _: GuardConfig) -> Iterator[Violation]:
    fix = "grant the actions the role needs in an inline policy (aws.iam.RolePolicy, or a block's grants)"
    if resource.type == ROLE:
        arns = _listed(resource.get("managedPolicyArns"))
        if arns:
            yield violation(resource, f"attaches managed policies {', '.join(map(str, arns))}", fix)
    elif resource.type == ROLE_POLICY_ATTACHMENT:
        yield violation(resource, f"attaches managed policy {resource.get('policyArn')} to a role", fix)
    elif resource.type == ROLE_ATTACHMENTS_EXCLUSIVE and _listed(resource.get("policyArns")):
        yield violation(resource, "attaches managed policies to a role", fix)
    elif resource.type == POLICY_ATTACHMENT and _listed(resource.get("roles")):
        yield violation(resource, f"attaches managed policy {resource.get('policyArn')} to roles", fix)


#: Wildcard actions a resource policy may grant a service principal because AWS documents the statement that way:
#: (principal, action) → where and why.
DOCUMENTED_SERVICE_WILDCARDS: Mapping[tuple[str, str], str] = {
    ("cloudwatch.amazonaws.com", "kms:GenerateDataKey*"): (
        "AlarmTopic's key policy: AWS's documented statement for CloudWatch alarms publishing to an encrypted topic, "
        "kept verbatim (variations of it have been reported to silence alarm delivery)"
    ),
}


def _service_of(statement: Mapping[str, Any]) -> object:
    principal = statement.get("Principal")
    return principal.get("Service") if isinstance(principal, Mapping) else None


def _wildcard_actions(resource: Resource, _: GuardConfig) -> Iterator[Violation]:
    for where, identity, document in policy_documents(resource):
        for statement in _allows(document):
            if "NotAction" in statement:
                yield violation(
                    resource, f"its {where} allows NotAction (every action but some)", "list the allowed actions"
                )
            service = None if identity else _service_of(statement)
            for action in _listed(statement.get("Action")):
                if (service, action) in DOCUMENTED_SERVICE_WILDCARDS:
                    continue
                if isinstance(action, str) and ("*" in action or "?" in action):
                    yield violation(
                        resource,
                        f"its {where} allows the wildcard action '{action}'",
                        "name each action the principal needs (e.g. dynamodb:GetItem, not dynamodb:*)",
                    )


def _star_resources(resource: Resource, _: GuardConfig) -> Iterator[Violation]:
    for where, identity, document in policy_documents(resource):
        if not identity:
            continue  # in a resource policy, "*" is the resource the policy is attached to
        for statement in _allows(document):
            if "NotResource" not in statement and "*" not in _listed(statement.get("Resource")):
                continue
            for action in _listed(statement.get("Action")):
                if action not in STAR_RESOURCE_ACTIONS:
                    yield violation(
                        resource,
                        f"its {where} allows '{action}' on every resource (Resource '*')",
                        f"name the ARNs '{action}' needs; Resource '*' is only for actions without resource-level "
                        "scope (the pack's STAR_RESOURCE_ACTIONS, each with its reason)",
                    )


RULES = [
    ResourceRule(
        "iam-no-managed-policies",
        "No managed policy is attached to a role; roles get inline policies of named actions on named resources.",
        frozenset({ROLE, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT, ROLE_ATTACHMENTS_EXCLUSIVE}),
        _managed_policies,
        cdk_nag=("AwsSolutions-IAM4",),
    ),
    ResourceRule(
        "iam-no-wildcard-actions",
        "No policy (identity or resource) allows a wildcard action or NotAction.",
        frozenset({*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES}),
        _wildcard_actions,
        cdk_nag=("AwsSolutions-IAM5", "Serverless-IAMNoWildcardPermissions"),
    ),
    ResourceRule(
        "iam-star-resource-allow-list",
        "Identity policies allow Resource '*' only for the actions without resource-level scope.",
        frozenset({*IDENTITY_POLICY_TYPES, ROLE}),
        _star_resources,
        cdk_nag=("AwsSolutions-IAM5",),
    ),
]
