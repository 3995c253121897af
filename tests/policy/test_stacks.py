"""Every policy over the orders app's dev and prod stacks and the parcel-tracker example: no violations.

A known gap (none today) is written in ``KNOWN_GAPS`` with its reason: it is expected to fail (strict), and a
second test keeps anything else from hiding behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import STACKS

from guard_harness import POLICIES, Deployment, Found, pack_config


@dataclass(frozen=True)
class Gap:
    """Violations a stack has today: on these resources (None: on these resource types) and why."""

    reason: str
    names: tuple[str, ...] | None = None
    types: tuple[str, ...] = ()

    def covers(self, found: Found, deployment: Deployment) -> bool:
        if self.names is not None:
            return found.name in self.names
        return next(r.type for r in deployment.resources if r.urn == found.urn) in self.types


KNOWN_GAPS: dict[tuple[str, str], Gap] = {}


def _cases() -> list[object]:
    cases: list[object] = []
    for stack in STACKS:
        for policy in POLICIES:
            gap = KNOWN_GAPS.get((stack, policy))
            marks = [pytest.mark.xfail(strict=True, reason=gap.reason)] if gap else []
            cases.append(pytest.param(stack, policy, marks=marks, id=f"{stack}-{policy}"))
    return cases


def _violations(deployments: dict[str, Deployment], stack: str, policy: str) -> list[Found]:
    return deployments[stack].violations(policy, pack_config(STACKS[stack][2]))


@pytest.mark.parametrize(("stack", "policy"), _cases())
def test_the_stack_has_no_violations(deployments: dict[str, Deployment], stack: str, policy: str) -> None:
    assert [f.message for f in _violations(deployments, stack, policy)] == []


@pytest.mark.parametrize(("stack", "policy"), sorted(KNOWN_GAPS), ids="-".join)
def test_a_known_gap_is_all_the_policy_finds(deployments: dict[str, Deployment], stack: str, policy: str) -> None:
    gap = KNOWN_GAPS[stack, policy]
    found = _violations(deployments, stack, policy)
    assert [f.message for f in found if not gap.covers(f, deployments[stack])] == []


def test_the_stacks_hold_what_the_policies_judge(deployments: dict[str, Deployment]) -> None:
    """No policy passes for want of resources: the stacks hold every kind the pack judges, bar the ones the
    library does not build (raw permissions, EventBridge targets, managed policy attachments)."""
    types = {r.type for d in deployments.values() for r in d.resources}
    expected = {
        "pulumi:providers:aws",
        "aws:lambda/function:Function",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:sqs/queue:Queue",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:sns/topic:Topic",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:dynamodb/table:Table",
        "aws:sfn/stateMachine:StateMachine",
        "aws:scheduler/schedule:Schedule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:kms/key:Key",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
    }
    assert expected <= types
