"""Explicit IAM grants and the policy documents built from them.

A :class:`Grant` names exact actions on exact resource ARNs. Resource ``"*"`` is allowed only for the actions in
:data:`STAR_RESOURCE_ACTIONS` (AWS offers no resource scope for them), and the grant must carry its reason.
Wildcard actions (``s3:*``, ``dynamodb:Get*``) are always refused.

A grant a real code path needs but an ordinary workload may never take (a record deleted when the handler fails, a
read on a retry) carries ``unexercised``: the path, in words. IAM has no field for prose, so the words go into the
statement's ``Sid`` (``Grant<n>Because<CamelCasedWords>``, letters and digits only, as IAM requires) and
:func:`unexercised_reason` reads them back: the local cloud's IAM report counts such a grant as justified.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi

from serverless_patterns.internals.settings import setting

__all__ = [
    "DOCUMENTED_SERVICE_WILDCARDS",
    "IDEMPOTENCY_UNEXERCISED",
    "STAR_RESOURCE_ACTIONS",
    "Grant",
    "GrantSettings",
    "grant",
    "grant_problems",
    "idempotency_grant",
    "kms_use_grant",
    "policy_document",
    "star_grant",
    "statement_problems",
    "unexercised_reason",
]

#: Actions AWS authorises only on Resource "*", each with the reason it must be so.
STAR_RESOURCE_ACTIONS: Mapping[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace writes have no resource-level scope",
    "xray:PutTelemetryRecords": "X-Ray trace writes have no resource-level scope",
    "xray:GetSamplingRules": "X-Ray sampling reads have no resource-level scope",
    "xray:GetSamplingTargets": "X-Ray sampling reads have no resource-level scope",
    "dynamodb:ListStreams": "ListStreams has no resource-level scope; a stream mapping needs it",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:GetLogDelivery": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:UpdateLogDelivery": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:DeleteLogDelivery": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:ListLogDeliveries": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:PutResourcePolicy": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:DescribeResourcePolicies": "vended log delivery (Step Functions logging) has no resource-level scope",
    "logs:DescribeLogGroups": "vended log delivery (Step Functions logging) has no resource-level scope",
    "cloudwatch:PutMetricData": "PutMetricData has no resource-level scope (restrict with cloudwatch:namespace)",
    **dict.fromkeys(
        (
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ),
        "Lambda manages a VPC function's network interfaces with its role: the interfaces do not exist before "
        "Lambda creates them, and DescribeNetworkInterfaces has no resource-level scope",
    ),
}


class Grant(TypedDict):
    """Allow ``actions`` on ``resources``. ``reason`` is required when a resource is ``"*"``; ``unexercised`` says
    which path needs a grant an ordinary workload may not exercise."""

    actions: list[str]
    resources: list[pulumi.Input[str]]
    reason: NotRequired[str]
    unexercised: NotRequired[str]


@dataclass(frozen=True)
class GrantSettings:
    """A :class:`Grant` read into settings (its types); :func:`grant_problems` judges its actions and resources."""

    actions: tuple[str, ...] = setting(doc="each `service:Action`, no wildcards")
    resources: tuple[pulumi.Input[str], ...] = setting(doc="exact ARNs; `*` only for actions without resource scope")
    reason: str | None = setting(None, doc="why, when a resource is `*`")
    unexercised: str | None = setting(None, doc="the code path that needs it when a workload may not exercise it")

    def as_grant(self) -> Grant:
        granted: Grant = {"actions": list(self.actions), "resources": list(self.resources)}
        if self.reason is not None:
            granted["reason"] = self.reason
        if self.unexercised is not None:
            granted["unexercised"] = self.unexercised
        return granted


def grant(actions: Sequence[str], resources: Sequence[pulumi.Input[str]], unexercised: str | None = None) -> Grant:
    granted: Grant = {"actions": list(actions), "resources": list(resources)}
    if unexercised is not None:
        granted["unexercised"] = unexercised
    return granted


_SID_REASON = re.compile(r"^Grant\d+Because([A-Za-z0-9]+)$")


def _sid(index: int, unexercised: str | None) -> str:
    if not unexercised:
        return f"Grant{index}"
    words = re.findall(r"[A-Za-z0-9]+", unexercised)
    return f"Grant{index}Because" + "".join(w[:1].upper() + w[1:] for w in words)


def unexercised_reason(sid: object) -> str | None:
    """The ``unexercised`` words a statement's ``Sid`` carries (lower-cased, punctuation lost), or None."""
    found = _SID_REASON.match(sid) if isinstance(sid, str) else None
    if found is None:
        return None
    words = re.findall(r"[A-Z0-9][a-z0-9]*|[a-z0-9]+", found.group(1))
    return " ".join(w.lower() for w in words)


def star_grant(actions: Sequence[str], reason: str) -> Grant:
    """A grant on Resource ``"*"`` for actions that have no resource-level scope."""
    return {"actions": list(actions), "resources": ["*"], "reason": reason}


def kms_use_grant(key_arn: pulumi.Input[str]) -> Grant:
    """Encrypt/decrypt with a customer key: what a role needs to read or write a table, queue or topic under it
    (DynamoDB, SQS and SNS call KMS with the caller's permissions)."""
    return grant(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn])


#: Why the idempotency grant's reads and deletes may go unexercised (see :func:`idempotency_grant`).
IDEMPOTENCY_UNEXERCISED = (
    "Powertools deletes the in progress record when the handler raises and reads a record when a duplicate put "
    "does not return the one stored"
)


def idempotency_grant(table_arn: pulumi.Input[str]) -> Grant:
    """What the Powertools DynamoDB persistence layer does on the idempotency table: PutItem to claim a key,
    UpdateItem to save the result, DeleteItem when the handler raises (so a retry may run it again), GetItem when a
    conditional put fails without returning the stored record."""
    return grant(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [table_arn],
        unexercised=IDEMPOTENCY_UNEXERCISED,
    )


def _action_problem(action: object) -> str | None:
    if not isinstance(action, str) or ":" not in action:
        return f"action {action!r} is not of the form service:Action"
    service, name = action.split(":", 1)
    if not service or not name:
        return f"action {action!r} is not of the form service:Action"
    if "*" in action or "?" in action:
        return f"action {action!r} is a wildcard; name each action"
    return None


def grant_problems(grants: Sequence[Grant], field: str = "grants") -> list[str]:
    """Every problem in ``grants``: malformed or wildcard actions, ``*`` resources without reason or exception."""
    problems: list[str] = []
    for index, item in enumerate(grants):
        where = f"{field}[{index}]"
        actions = item.get("actions") or []
        resources = item.get("resources") or []
        if not actions:
            problems.append(f"{where} has no actions")
        if not resources:
            problems.append(f"{where} has no resources")
        problems.extend(f"{where}: {p}" for a in actions if (p := _action_problem(a)))
        if "*" in [r for r in resources if isinstance(r, str)]:
            if not item.get("reason"):
                problems.append(f"{where} uses Resource '*' without a reason")
            problems.extend(
                f"{where}: {a} may not use Resource '*' (only actions without resource-level scope may)"
                for a in actions
                if isinstance(a, str) and a not in STAR_RESOURCE_ACTIONS
            )
    return problems


#: Wildcard actions a resource policy may grant a service principal because AWS documents the statement that way;
#: (principal, action) → where it is written and why.
DOCUMENTED_SERVICE_WILDCARDS: dict[tuple[str, str], str] = {
    ("cloudwatch.amazonaws.com", "kms:GenerateDataKey*"): (
        "AlarmTopic's key policy: AWS's documented statement for CloudWatch alarms publishing to an encrypted topic, "
        "kept verbatim (variations of it have been reported to silence alarm delivery)"
    ),
}


def statement_problems(statement: Mapping[str, Any]) -> list[str]:
    """Problems of one Allow statement (used by the stack-wide IAM tests): wildcard actions (but the documented
    service exceptions), Resource '*' beyond the listed actions."""
    actions = statement.get("Action", [])
    resources = statement.get("Resource", [])
    actions = [actions] if isinstance(actions, str) else list(actions)
    resources = [resources] if isinstance(resources, str) else list(resources)
    service = (
        (statement.get("Principal") or {}).get("Service") if isinstance(statement.get("Principal"), dict) else None
    )
    documented = {a for (principal, a) in DOCUMENTED_SERVICE_WILDCARDS if principal == service}
    problems = [p for a in actions if a not in documented and (p := _action_problem(a))]
    if "*" in resources:
        problems.extend(f"{a} on Resource '*'" for a in actions if a not in STAR_RESOURCE_ACTIONS)
    return problems


def policy_document(grants: Sequence[Grant]) -> pulumi.Output[str]:
    """The JSON policy document allowing each grant; resources may be Outputs."""

    def render(resolved: list[list[str]]) -> str:
        statements = []
        for index, (item, resources) in enumerate(zip(grants, resolved, strict=True)):
            statements.append(
                {
                    "Sid": _sid(index, item.get("unexercised")),
                    "Effect": "Allow",
                    "Action": sorted(set(item["actions"])),
                    "Resource": resources[0] if len(resources) == 1 else sorted(set(resources)),
                }
            )
        return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=None, sort_keys=True)

    resolved = pulumi.Output.all(*[pulumi.Output.all(*g["resources"]) for g in grants])
    return resolved.apply(render)
