"""Least privilege, measured: per function role, what it grants, what the handlers exercised, what was denied and
which grants nothing used.

A grant no handler exercised is not necessarily surplus: Lambda itself uses the role to write the function's logs
and traces, to poll its queue or stream, and to deliver failures to the on-failure destinations the program
declared. Those grants are *justified* from the deployment (each with its reason), and so is a grant whose
statement carries the code path that needs it (an ``unexercised`` grant: its ``Sid`` is
``Grant<n>Because<Words>``, see :mod:`serverless_patterns.internals.iam`); the rest are *unused*, and a report with
a denial or an unused grant is not ``ok``. Only function roles are reported: the calls Step Functions
and Scheduler make with theirs run inside moto, where no handler's call is seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud.deploy import Deployment, RoleRecord
from localcloud.iam_actions import Check
from localcloud.iam_enforcement import Denial, role_documents
from serverless_patterns.internals.iam import unexercised_reason

if TYPE_CHECKING:
    from localcloud.engine import LocalCloud

__all__ = ["RoleReport", "iam_report", "render_iam_report"]

_SQS_POLLING = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
_STREAM_READING = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
_DELIVERY = ("sqs:SendMessage", "sns:Publish")
_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt")


@dataclass
class RoleReport:
    role: str
    functions: list[str]
    granted: set[Check] = field(default_factory=set)  # (action, resource) of each Allow, as declared
    exercised: set[Check] = field(default_factory=set)  # allowed calls the handlers made, with their real ARNs
    denied: list[Denial] = field(default_factory=list)
    justified: dict[Check, str] = field(default_factory=dict)  # granted, not exercised, used by Lambda or a path: why
    unused: set[Check] = field(default_factory=set)  # granted and used by nothing seen

    @property
    def ok(self) -> bool:
        return not self.denied and not self.unused


def _matches(pattern: Check, check: Check) -> bool:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    action, resource = pattern
    statement = IAMPolicyStatement({"Effect": "Allow", "Action": action.lower(), "Resource": resource})
    return statement.is_action_permitted(check[0].lower(), check[1]) == PermissionResult.PERMITTED


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _granted(role: RoleRecord) -> dict[Check, str | None]:
    """Each (action, resource) the role allows, with the path its statement's ``Sid`` says needs it (or None)."""
    granted: dict[Check, str | None] = {}
    for document in role_documents(role):
        for statement in _as_list(json.loads(document).get("Statement", [])):
            if statement.get("Effect") == "Allow":
                actions, resources = _as_list(statement.get("Action", [])), _as_list(statement.get("Resource", []))
                why = unexercised_reason(statement.get("Sid"))
                for check in ((str(a), str(r)) for a in actions for r in resources):
                    granted[check] = granted.get(check) or why
    return granted


def _service_uses(deployment: Deployment, functions: list[str]) -> list[tuple[Check, str]]:
    """What Lambda does with the role of ``functions``: (action, resource) it authorises, and why."""
    uses: list[tuple[Check, str]] = [
        (("logs:CreateLogStream", "*"), "Lambda writes the function's logs with its role"),
        (("logs:PutLogEvents", "*"), "Lambda writes the function's logs with its role"),
        (("xray:PutTraceSegments", "*"), "Lambda sends the function's traces with its role"),
        (("xray:PutTelemetryRecords", "*"), "Lambda sends the function's traces with its role"),
        *(
            ((action, "*"), "DynamoDB, SQS and SNS use a customer key with the caller's permissions")
            for action in _KEY_USE
        ),
    ]
    for mapping in deployment.mappings:
        if mapping.function_name not in functions:
            continue
        if mapping.kind == "sqs":
            uses += [((a, mapping.source_arn), "the event source mapping polls the queue") for a in _SQS_POLLING]
        else:
            uses += [((a, mapping.source_arn), "the event source mapping reads the stream") for a in _STREAM_READING]
            uses.append((("dynamodb:ListStreams", "*"), "the event source mapping lists the table's streams"))
        if mapping.on_failure_arn:
            uses += [((a, mapping.on_failure_arn), "the mapping's on-failure destination") for a in _DELIVERY]
    for name, config in deployment.async_configs.items():
        if config.on_failure_arn and name.rsplit(":", 1)[-1] in functions:
            uses += [
                ((a, config.on_failure_arn), "the asynchronous invocations' on-failure destination") for a in _DELIVERY
            ]
    return uses


def _justification(grant: Check, uses: list[tuple[Check, str]]) -> str | None:
    for (action, resource), why in uses:
        if grant[0].lower() == action.lower() and (resource == "*" or _matches(grant, (action, resource))):
            return why
    return None


def iam_report(cloud: LocalCloud) -> list[RoleReport]:
    """The report of every function role of ``cloud``, on what its handlers did so far, by role name."""
    deployment = cloud.deployment
    by_role: dict[str, RoleReport] = {}
    paths: dict[str, dict[Check, str | None]] = {}
    for function in sorted(deployment.functions):
        role = deployment.role_of(function)
        if role is not None:
            if role.name not in by_role:
                paths[role.name] = _granted(role)
                by_role[role.name] = RoleReport(role.name, [], set(paths[role.name]))
            by_role[role.name].functions.append(function)
    for report in by_role.values():
        report.exercised = set(cloud.iam.exercised.get(report.role, set()))
        report.denied = [d for d in cloud.iam.denials if d.role == report.role]
        uses = _service_uses(deployment, report.functions)
        for grant in sorted(report.granted):
            if any(_matches(grant, check) for check in report.exercised):
                continue
            why = _justification(grant, uses) or paths[report.role][grant]
            if why is None:
                report.unused.add(grant)
            else:
                report.justified[grant] = why
    return [by_role[name] for name in sorted(by_role)]


def render_iam_report(reports: list[RoleReport]) -> str:
    """The report as text, a block per role (what ``iam-report`` prints)."""
    lines: list[str] = []
    for report in reports:
        lines.append(f"{report.role} ({', '.join(report.functions)}): {'ok' if report.ok else 'NOT least privilege'}")
        lines += [f"  exercised  {a} on {r}" for a, r in sorted(report.exercised)]
        lines += [f"  DENIED     {d.action} on {d.resource} ({d.operation})" for d in report.denied]
        lines += [f"  justified  {a} on {r}: {why}" for (a, r), why in sorted(report.justified.items())]
        lines += [f"  UNUSED     {a} on {r}" for a, r in sorted(report.unused)]
    return "\n".join(lines)
