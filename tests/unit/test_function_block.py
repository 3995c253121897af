"""The function block under Pulumi mocks: defaults, overrides and validation."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, alarms_by_metric, iam_findings, statements

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, run_declarations
from localcloud.public_aws import public_parameter
from serverless_patterns import ArgumentError, Function, FunctionArgs
from serverless_patterns.blocks.function import DEFAULT_TIMEOUT_SECONDS, FunctionSettings, component_function_args
from serverless_patterns.internals.runtime import POWERTOOLS_VERSION
from serverless_patterns.internals.settings import resolve

QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:shared:3"
PUBLISHED = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-published:99"
ENI_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:UnassignPrivateIpAddresses",
]


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
    parameter = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
    published = public_parameter(parameter, "us-east-1")
    assert published is not None
    assert fn["layers"] == [published["insecureValue"]]
    assert "vpcConfig" not in fn
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
        "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90,",
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


class PublishedLayer(OfflineMocks):
    """Offline mocks whose SSM publishes a distinctive layer, and which note the parameters read."""

    def __init__(self) -> None:
        super().__init__()
        self.parameters: list[str] = []

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:ssm/getParameter:getParameter":
            self.parameters.append(args.args["name"])
            return {"name": args.args["name"], "type": "String", "value": PUBLISHED, "insecureValue": PUBLISHED}, []
        return super().call(args)


def function_inputs(run: ProgramRun) -> dict[str, Any]:
    [fn] = run.of_type("aws:lambda/function:Function")
    return fn.inputs


@pytest.mark.parametrize(
    ("runtime", "architecture"), [("python3.13", "arm64"), ("python3.12", "x86_64"), ("python3.12", "arm64")]
)
def test_the_powertools_layer_is_the_one_ssm_publishes_for_the_runtime_and_architecture(
    runtime: str, architecture: str
):
    mocks = PublishedLayer()
    run = run_declarations(mocks, lambda: Function("worker", args(runtime=runtime, architecture=architecture)))
    fn = function_inputs(run)
    assert (fn["runtime"], fn["architectures"], fn["layers"]) == (runtime, [architecture], [PUBLISHED])
    assert mocks.parameters == [f"/aws/service/powertools/python/{architecture}/{runtime}/{POWERTOOLS_VERSION}"]


def test_extra_layers_come_after_the_powertools_layer():
    run = run_declarations(PublishedLayer(), lambda: Function("worker", args(layers=[LAYER])))
    assert function_inputs(run)["layers"] == [PUBLISHED, LAYER]


def test_a_given_powertools_layer_is_used_without_reading_ssm():
    mocks = PublishedLayer()
    pinned = "arn:aws:lambda:us-east-1:123456789012:layer:my-powertools:1"
    run = run_declarations(mocks, lambda: Function("worker", args(powertools_layer_arn=pinned, layers=[LAYER])))
    assert function_inputs(run)["layers"] == [pinned, LAYER]
    assert mocks.parameters == []


def test_false_attaches_no_powertools_layer():
    mocks = PublishedLayer()
    run = run_declarations(mocks, lambda: Function("worker", args(powertools_layer_arn=False)))
    assert not function_inputs(run).get("layers")
    run = run_declarations(mocks, lambda: Function("worker", args(powertools_layer_arn=False, layers=[LAYER])))
    assert function_inputs(run)["layers"] == [LAYER]
    assert mocks.parameters == []


def test_a_vpc_function_gets_its_config_and_the_network_interface_actions(declare):
    vpc = {"subnet_ids": ["subnet-0a", "subnet-0b"], "security_group_ids": ["sg-01"]}
    run = declare(lambda: Function("worker", args(vpc=vpc)))
    assert function_inputs(run)["vpcConfig"] == {"subnetIds": ["subnet-0a", "subnet-0b"], "securityGroupIds": ["sg-01"]}
    [policy] = run.of_type("aws:iam/rolePolicy:RolePolicy")
    eni = [s for s in statements(policy) if s["Action"] == ENI_ACTIONS]
    assert [s["Resource"] for s in eni] == ["*"]
    assert iam_findings(run)[1] == [], "each action is allowed on '*' with its reason"


def test_settings_hold_every_default_in_one_place():
    settings = resolve(
        FunctionSettings, {"handler_package": "sample", "handler": "app.handler", "alarm_topic_arn": TOPIC}, "f"
    )
    assert (settings.memory_mb, settings.timeout_seconds, settings.log_retention_days, settings.log_level) == (
        256,
        30,
        30,
        "INFO",
    )
    assert (settings.runtime, settings.architecture, settings.layers, settings.vpc) == ("python3.13", "arm64", (), None)
    assert settings.powertools_layer_arn is None, "None: the layer SSM publishes"
    assert (settings.alarms.errors_threshold, settings.alarms.throttles_threshold) == (1, 1)
    assert settings.alarms.duration_ratio == 0.9
    assert settings.async_config is None and settings.grants == () and settings.environment is None
    assert DEFAULT_TIMEOUT_SECONDS == FunctionSettings.timeout_seconds == 30


def test_component_function_args_passes_the_escape_hatches_from_the_component_and_the_spec():
    vpc: Any = {"subnet_ids": ["subnet-0a"], "security_group_ids": ["sg-01"]}
    spec: Any = {"handler_package": "sample", "handler": "app.handler", "runtime": "python3.12"}
    component: Any = {"alarm_topic_arn": TOPIC, "runtime": "python3.13", "vpc": vpc, "layers": [LAYER]}
    function = component_function_args(spec, component)
    assert (function.get("runtime"), function.get("vpc"), function.get("layers")) == ("python3.12", vpc, [LAYER])


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({"handler_package": "sample", "handler": "app.handler"}, "alarm_topic_arn is required"),
        (args(memory=512), "unknown argument 'memory' (did you mean 'memory_mb'?)"),
        (args(timeout_seconds="30"), "timeout_seconds must be an integer, got '30'"),
        (args(environment=["A=1"]), "environment must be a mapping, got a list"),
        (
            args(alarm_topic_arn="alarms"),
            "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        ),
        (
            args(async_config={"max_retry_attempts": 0, "max_event_age_seconds": 60, "on_failure_queue_arn": "dlq"}),
            "async_config.on_failure_queue_arn must be an ARN (arn:<partition>:<service>:...), got 'dlq'",
        ),
        (args(async_config={"max_retry_attempts": 0}), "async_config.max_event_age_seconds is required"),
        (
            args(alarms={"error_threshold": 2}),
            "unknown argument 'alarms.error_threshold' (did you mean 'errors_threshold'?)",
        ),
        (args(runtime="python3.9"), "runtime must be one of python3.13, python3.12; got 'python3.9'"),
        (args(architecture="amd64"), "architecture must be one of arm64, x86_64; got 'amd64'"),
        (args(layers=[LAYER, "shared"]), "layers[1] must be an ARN (arn:<partition>:<service>:...), got 'shared'"),
        (args(layers=[LAYER] * 5), "layers: Lambda takes at most 5 layers, the Powertools layer included; got 6"),
        (
            args(powertools_layer_arn="powertools"),
            "powertools_layer_arn must be an ARN (arn:<partition>:<service>:...), got 'powertools'",
        ),
        (args(powertools_layer_arn=True), "powertools_layer_arn must be an ARN, or false for no layer; got True"),
        (
            args(vpc={"subnet_ids": [], "security_group_ids": ["sg-01"]}),
            "vpc.subnet_ids must name 1 to 16 subnet ids, got 0",
        ),
        (
            args(vpc={"subnet_ids": ["subnet-0a"], "security_group_ids": ["default"]}),
            "vpc.security_group_ids must hold ids starting with 'sg-', got 'default'",
        ),
        (args(vpc={"subnet_ids": ["subnet-0a"]}), "vpc.security_group_ids is required"),
        (
            args(grants=[{"actions": "s3:GetObject", "resources": []}]),
            "grants[0].actions must be a list, got 's3:GetObject'",
        ),
        (
            args(function_name="my function"),
            "function_name must be 1 to 64 letters, digits, '-' or '_'; got 'my function'",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Function("worker", bad))
    assert caught.value.problems == [problem]
