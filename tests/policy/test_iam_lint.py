"""Every IAM policy document the dev and prod stacks declare, linted with parliament (its community auditors
included), statement by statement: no findings but the documented false positives below."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from guard_harness import Deployment
from serverless_guard.iam import policy_documents
from serverless_guard.model import Resource, statements

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # parliament imports pkg_resources
    from parliament import analyze_policy_string

#: type of the resource holding a document → what kind of policy it is
KINDS = {
    "aws:iam/rolePolicy:RolePolicy": "identity",
    "aws:iam/role:Role": "trust",
    "aws:kms/key:Key": "key",
    "aws:sqs/queuePolicy:QueuePolicy": "queue",
    "aws:sns/topicPolicy:TopicPolicy": "topic",
}
STREAM_READS = frozenset({"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"})
STREAM_ARN = r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+/stream/[0-9T:.-]+"


@dataclass(frozen=True)
class FalsePositive:
    """A finding parliament reports wrongly on a statement of this kind, whose actions are all in ``actions`` and
    whose resources all match ``resources`` (when given)."""

    issue: str
    kind: str
    reason: str
    actions: frozenset[str] | None = None
    resources: str | None = None

    def covers(self, issue: str, kind: str, statement: Mapping[str, Any]) -> bool:
        actions, resources = _listed(statement.get("Action")), _listed(statement.get("Resource"))
        return (
            issue == self.issue
            and kind == self.kind
            and (self.actions is None or set(actions) <= self.actions)
            and (self.resources is None or all(re.fullmatch(self.resources, str(r)) for r in resources))
        )


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


FALSE_POSITIVES = (
    FalsePositive(
        "MISMATCHED_TYPE",
        "key",
        "CloudWatch Logs' key statement: AWS documents ArnLike on kms:EncryptionContext:aws:logs:arn (the log "
        "group's ARN), which parliament types as a plain string",
        frozenset({"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}),
    ),
    FalsePositive(
        "MALFORMED",
        "trust",
        "a role's trust policy is the role's own resource policy: it names a principal and no Resource",
    ),
    FalsePositive("RESOURCE_STAR", "key", "in a key policy, Resource '*' is the key the policy is attached to"),
    FalsePositive(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "key",
        "the key policy lets the account administer the key through IAM (key policy, grants), as AWS's default "
        "key policy does, so the key never becomes unmanageable",
    ),
    FalsePositive(
        "RESOURCE_MISMATCH",
        "identity",
        "parliament splits ARNs on ':' and a DynamoDB stream label (2026-01-01T00:00:00.000) holds colons; the "
        "resource is the stream's ARN",
        STREAM_READS,
        STREAM_ARN,
    ),
    FalsePositive(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "identity",
        "logs:PutResourcePolicy is one of the log-delivery actions Step Functions needs to log to CloudWatch Logs "
        "(AWS documents them for the state machine's role); it is on the pack's Resource '*' allow-list",
        frozenset(
            {
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            }
        ),
    ),
)


@dataclass(frozen=True)
class Finding:
    resource: str
    kind: str
    issue: str
    detail: str
    statement: Mapping[str, Any]


def findings(deployment: Deployment) -> tuple[int, list[Finding]]:
    """(statements linted, findings) over every policy document of the deployment."""
    linted, found = 0, []
    for recorded in deployment.resources:
        kind = KINDS.get(recorded.type)
        if kind is None:
            continue
        resource = Resource(recorded.type, recorded.name, recorded.urn, recorded.inputs)
        for _, _, document in policy_documents(resource):
            for statement in statements(document):
                linted += 1
                single = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
                policy = analyze_policy_string(single, include_community_auditors=True)
                found += [Finding(recorded.name, kind, f.issue, str(f.detail), statement) for f in policy.findings]
    return linted, found


def _unexplained(found: list[Finding]) -> list[Finding]:
    return [f for f in found if not any(fp.covers(f.issue, f.kind, f.statement) for fp in FALSE_POSITIVES)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_parliament_finds_nothing_but_documented_false_positives(
    deployments: dict[str, Deployment], stack: str
) -> None:
    linted, found = findings(deployments[stack])
    assert linted >= 60  # every role's policy and trust, the key, queue and topic policies
    assert [(f.resource, f.issue, f.detail) for f in _unexplained(found)] == []


def test_every_documented_false_positive_still_occurs(deployments: dict[str, Deployment]) -> None:
    found = [f for stack in ("dev", "prod") for f in findings(deployments[stack])[1]]
    unused = [fp for fp in FALSE_POSITIVES if not any(fp.covers(f.issue, f.kind, f.statement) for f in found)]
    assert unused == []


def test_the_lint_catches_a_real_problem() -> None:
    """A stream read granted on the table instead of its stream is not excused by the stream-label entry."""
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    statement = {"Effect": "Allow", "Action": sorted(STREAM_READS), "Resource": table}
    policy = analyze_policy_string(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    found = [Finding("raw", "identity", f.issue, str(f.detail), statement) for f in policy.findings]
    assert [f.issue for f in _unexplained(found)] == ["RESOURCE_MISMATCH"]
