"""Every policy over the orders app's dev and prod stacks and the parcel-tracker example: no violations."""

from __future__ import annotations

import pytest
from conftest import STACKS

from guard_harness import POLICIES, Deployment, Found, pack_config


def _violations(deployments: dict[str, Deployment], stack: str, policy: str) -> list[Found]:
    return deployments[stack].violations(policy, pack_config(STACKS[stack][2]))


@pytest.mark.parametrize(("stack", "policy"), [(s, p) for s in STACKS for p in POLICIES], ids="-".join)
def test_the_stack_has_no_violations(deployments: dict[str, Deployment], stack: str, policy: str) -> None:
    assert [f.message for f in _violations(deployments, stack, policy)] == []


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
