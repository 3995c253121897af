"""The function block under Pulumi mocks: defaults, overrides and validation."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, alarms_by_metric, statements

from serverless_patterns import ArgumentError, Function, FunctionArgs
from serverless_patterns.internals.runtime import POWERTOOLS_LAYER_NAME, POWERTOOLS_LAYER_VERSION

QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"


def args(**overrides: Any) -> FunctionArgs:
    base: dict[str, Any] = {
        "handler_package": "sample",
        "handler": "app.handler",
        "alarm_topic_arn": TOPIC,
        "handlers_root": FIXTURE_HANDLERS,
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def test_defaults(declare):
    run = declare(lambda: Function("worker", args()))
    fn = run.of_type("aws:lambda/function:Function")[0].inputs
    assert fn["name"] == "serverless-orders-test-worker"
    assert fn["runtime"] == "python3.13"
    assert fn["architectures"] == ["arm64"]
    assert fn["handler"] == "sample.app.handler"
    assert fn["memorySize"] == 256
    assert fn["timeout"] == 30
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert fn["loggingConfig"]["logFormat"] == "JSON"
    assert fn["loggingConfig"]["logGroup"] == "/aws/lambda/serverless-orders-test-worker"
    assert fn["loggingConfig"]["applicationLogLevel"] == "INFO"
    assert fn["reservedConcurrentExecutions"] == -1
    assert fn["layers"] == [
        f"arn:aws:lambda:us-east-1:017000801446:layer:{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    ]
    assert fn["environment"]["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "worker",
        "POWERTOOLS_METRICS_NAMESPACE": "serverless-orders",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    assert fn["sourceCodeHash"]
    log_group = run.of_type("aws:cloudwatch/logGroup:LogGroup")[0].inputs
    assert log_group == {"name": "/aws/lambda/serverless-orders-test-worker", "retentionInDays": 30}
    assert not run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")


def test_role_trusts_lambda_and_policy_is_scoped(declare):
    run = declare(lambda: Function("worker", args()))
    trust = statements(run.of_type("aws:iam/role:Role")[0], "assumeRolePolicy")
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert not run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), "no managed policies"
    allowed = {tuple(s["Action"]): s["Resource"] for s in statements(run.of_type("aws:iam/rolePolicy:RolePolicy")[0])}
    assert allowed == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): (
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/serverless-orders-test-worker:*"
        ),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"): "*",
    }


def test_caller_grants_are_added_exactly(declare):
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    run = declare(lambda: Function("worker", args(grants=[{"actions": ["dynamodb:GetItem"], "resources": [table]}])))
    found = [
        s for s in statements(run.of_type("aws:iam/rolePolicy:RolePolicy")[0]) if "dynamodb:GetItem" in s["Action"]
    ]
    assert found == [{"Sid": "Grant2", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": table}]


def test_alarms_notify_the_topic_with_default_thresholds(declare):
    run = declare(lambda: Function("worker", args()))
    alarms = alarms_by_metric(run)
    assert set(alarms) == {"Errors", "Throttles", "Duration"}
    for alarm in alarms.values():
        assert alarm.inputs["namespace"] == "AWS/Lambda"
        assert alarm.inputs["dimensions"] == {"FunctionName": "serverless-orders-test-worker"}
        assert alarm.inputs["alarmActions"] == [TOPIC]
        assert alarm.inputs["okActions"] == [TOPIC]
    assert alarms["Errors"].inputs["threshold"] == 1
    assert alarms["Throttles"].inputs["threshold"] == 1
    duration = alarms["Duration"].inputs
    assert duration["extendedStatistic"] == "p99"
    assert "statistic" not in duration
    assert duration["threshold"] == 27000  # 90% of 30 s


def test_overrides(declare):
    run = declare(
        lambda: Function(
            "worker",
            args(
                memory_mb=1024,
                timeout_seconds=120,
                log_retention_days=90,
                log_level="DEBUG",
                reserved_concurrency=1,
                environment={"TABLE": "orders"},
                service_name="orders",
                metrics_namespace="Orders",
                function_name="custom-name",
                alarms={"errors_threshold": 5, "throttles_threshold": 50, "duration_ratio": 0.5},
                async_config={"max_retry_attempts": 0, "max_event_age_seconds": 300, "on_failure_queue_arn": QUEUE},
            ),
        )
    )
    fn = run.of_type("aws:lambda/function:Function")[0].inputs
    assert (fn["name"], fn["memorySize"], fn["timeout"], fn["reservedConcurrentExecutions"]) == (
        "custom-name",
        1024,
        120,
        1,
    )
    assert fn["loggingConfig"]["applicationLogLevel"] == "DEBUG"
    assert fn["environment"]["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "orders",
        "POWERTOOLS_METRICS_NAMESPACE": "Orders",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "TABLE": "orders",
    }
    assert run.of_type("aws:cloudwatch/logGroup:LogGroup")[0].inputs["retentionInDays"] == 90
    alarms = alarms_by_metric(run)
    assert alarms["Errors"].inputs["threshold"] == 5
    assert alarms["Throttles"].inputs["threshold"] == 50
    assert alarms["Duration"].inputs["threshold"] == 60000
    invoke_config = run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")[0].inputs
    assert invoke_config["maximumRetryAttempts"] == 0
    assert invoke_config["maximumEventAgeInSeconds"] == 300
    assert invoke_config["destinationConfig"] == {"onFailure": {"destination": QUEUE}}
    sends = [
        s for s in statements(run.of_type("aws:iam/rolePolicy:RolePolicy")[0]) if s["Action"] == ["sqs:SendMessage"]
    ]
    assert [s["Resource"] for s in sends] == [QUEUE], "the role sends failed events to exactly its destination"


def test_async_config_without_destination(declare):
    run = declare(lambda: Function("worker", args(async_config={"max_retry_attempts": 2, "max_event_age_seconds": 60})))
    invoke_config = run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")[0].inputs
    assert "destinationConfig" not in invoke_config
    policy_actions = [a for s in statements(run.of_type("aws:iam/rolePolicy:RolePolicy")[0]) for a in s["Action"]]
    assert "sqs:SendMessage" not in policy_actions


def test_long_names_are_shortened_stably(declare):
    long_name = "a-very-long-logical-name-for-a-function-in-a-pattern"
    run = declare(lambda: Function(long_name, args()))
    name = run.of_type("aws:lambda/function:Function")[0].inputs["name"]
    assert len(name) == 64
    assert name.startswith("serverless-orders-test-a-very-long")
    again = declare(lambda: Function(long_name, args()))
    assert again.of_type("aws:lambda/function:Function")[0].inputs["name"] == name


def test_every_problem_is_reported_at_once(declare):
    bad = args(
        handler="missing.handler",
        memory_mb=64,
        timeout_seconds=901,
        log_retention_days=45,
        log_level="TRACE",
        reserved_concurrency=0,
        environment={"AWS_REGION": "x", "9bad": "y"},
        grants=[
            {"actions": ["dynamodb:*"], "resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]},
            {"actions": ["dynamodb:GetItem"], "resources": ["*"]},
        ],
        async_config={"max_retry_attempts": 3, "max_event_age_seconds": 30},
        alarms={"duration_ratio": 1.5},
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Function("worker", bad))
    text = str(caught.value)
    for fragment in [
        "no module missing.py",
        "memory_mb must be between 128 and 10240",
        "timeout_seconds must be between 1 and 900",
        "log_retention_days must be a retention CloudWatch Logs accepts",
        "log_level must be one of DEBUG, INFO, WARN, ERROR",
        "reserved_concurrency must be between 1 and 10000",
        "'AWS_REGION' is reserved",
        "'9bad' is not a valid name",
        "'dynamodb:*' is a wildcard",
        "grants[1] uses Resource '*' without a reason",
        "dynamodb:GetItem may not use Resource '*'",
        "async_config.max_retry_attempts must be between 0 and 2",
        "async_config.max_event_age_seconds must be between 60 and 21600",
        "alarms.duration_ratio must be in (0, 1]",
    ]:
        assert fragment in text
    assert len(caught.value.problems) == 14


def test_unknown_handler_package_is_named(declare):
    with pytest.raises(ArgumentError, match=r"handler_package 'nope' is not a folder under .*fixtures/handlers"):
        declare(lambda: Function("worker", args(handler_package="nope")))
