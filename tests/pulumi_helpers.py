"""Helpers for tests that read recorded Pulumi registrations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from localcloud.program import ProgramRun, RecordedResource

FIXTURE_HANDLERS = str(Path(__file__).parent / "fixtures" / "handlers")
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def policy(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    return json.loads(value) if isinstance(value, str) else value


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    return policy(resource, key)["Statement"]


def assert_args_match_settings(args_type: type, settings_type: type) -> None:
    """A public Args TypedDict offers exactly the fields of its settings, and requires exactly those with no default."""
    from serverless_patterns.internals.settings import required_keys

    fields = dataclasses.fields(settings_type)
    assert list(args_type.__annotations__) == [f.name for f in fields]
    required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert required_keys(args_type) == required


def alarms_by_metric(run: ProgramRun) -> dict[str, RecordedResource]:
    return {a.inputs["metricName"]: a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


IDENTITY_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"}
RESOURCE_POLICY_TYPES = {
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
}


def iam_findings(run: ProgramRun) -> tuple[int, list[str]]:
    """Scan every Allow statement the stack declares: (statements scanned, problems).

    Identity policies: no wildcard action, Resource '*' only for the listed actions without resource scope.
    Resource policies: no wildcard action in an Allow (a key policy's Resource '*' means the key itself).
    No AWS-managed policy attachments at all.
    """
    from serverless_patterns.internals.iam import statement_problems

    scanned = 0
    findings: list[str] = []
    for resource in run.resources:
        if resource.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            findings.append(f"{resource.name}: managed policy attachment {resource.inputs.get('policyArn')}")
        if resource.type in IDENTITY_POLICY_TYPES:
            for statement in statements(resource):
                if statement.get("Effect") == "Allow":
                    scanned += 1
                    findings.extend(f"{resource.name}: {p}" for p in statement_problems(statement))
        elif resource.type in RESOURCE_POLICY_TYPES and RESOURCE_POLICY_TYPES[resource.type] in resource.inputs:
            for statement in statements(resource, RESOURCE_POLICY_TYPES[resource.type]):
                if statement.get("Effect") == "Allow":
                    scanned += 1
                    scoped = {**statement, "Resource": "arn:aws:placeholder"}  # resource scope judged per type
                    findings.extend(f"{resource.name}: {p}" for p in statement_problems(scoped))
    return scanned, findings


def definition_worst_case(definition: dict[str, Any]) -> float:
    """Every Task of a state machine definition retried to exhaustion, each attempt to its TimeoutSeconds."""
    total = 0.0
    for state in definition["States"].values():
        if state["Type"] != "Task":
            continue
        retrier = max(state["Retry"], key=lambda r: r["MaxAttempts"])  # the longest budget a Task can spend
        waits = sum(
            min(retrier["IntervalSeconds"] * retrier["BackoffRate"] ** i, retrier["MaxDelaySeconds"])
            for i in range(retrier["MaxAttempts"])
        )
        total += (retrier["MaxAttempts"] + 1) * state["TimeoutSeconds"] + waits
    return total
