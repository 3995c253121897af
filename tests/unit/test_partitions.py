"""Every ARN the blocks build follows the provider's partition: none is ``arn:aws:`` in a China region."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_helpers import FIXTURE_HANDLERS, statements

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, run_declarations
from serverless_patterns import AlarmTopic, Function


def china_blocks(explicit_provider: bool) -> None:
    opts = None
    if explicit_provider:  # as the example program does: one explicit provider handed to every component
        opts = pulumi.ResourceOptions(providers=[aws.Provider("china", region="cn-north-1")])
    topic = AlarmTopic("alarms", {}, opts=opts)
    Function(
        "worker",
        {
            "handler_package": "sample",
            "handler": "app.handler",
            "alarm_topic_arn": topic.topic_arn,
            "handlers_root": FIXTURE_HANDLERS,
        },
        opts=opts,
    )


@pytest.fixture(params=["explicit provider", "default provider"])
def china(request: pytest.FixtureRequest) -> ProgramRun:
    explicit = request.param == "explicit provider"
    mocks = OfflineMocks() if explicit else OfflineMocks(region="cn-north-1")
    return run_declarations(mocks, lambda: china_blocks(explicit))


def test_no_arn_the_blocks_build_is_in_the_commercial_partition(china: ProgramRun):
    built = json.dumps([[r.inputs, r.state] for r in china.resources if r.custom], default=str)
    assert "arn:aws-cn:" in built
    assert "arn:aws:" not in built


def test_the_key_policy_log_stream_and_layer_are_chinese(china: ProgramRun):
    [key] = china.of_type("aws:kms/key:Key")
    admin = next(s for s in statements(key) if s["Sid"] == "AccountAdministersKeyThroughIam")
    assert admin["Principal"] == {"AWS": "arn:aws-cn:iam::123456789012:root"}
    [policy] = china.of_type("aws:iam/rolePolicy:RolePolicy")
    logs = next(s for s in statements(policy) if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"].startswith("arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/")
    [fn] = china.of_type("aws:lambda/function:Function")
    assert [layer.split(":")[:4] for layer in fn.inputs["layers"]] == [["arn", "aws-cn", "lambda", "cn-north-1"]]
