"""The function block: every Lambda in the project is built here.

Role with an inline policy from explicit grants, log group ``/aws/lambda/<name>`` with retention created before the
function, JSON logs, arm64, X-Ray Active, explicit memory and timeout, the pinned runtime with its Powertools layer,
optional reserved concurrency and async invoke config, and alarms on Errors, Throttles and p99 Duration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.archive import build_archive, default_handlers_root, handler_problems
from serverless_patterns.internals.iam import (
    STAR_RESOURCE_ACTIONS,
    Grant,
    grant,
    grant_problems,
    policy_document,
    star_grant,
)
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import (
    ARCHITECTURE,
    LAMBDA_RUNTIME,
    current_account,
    current_region,
    powertools_layer_arn,
)
from serverless_patterns.internals.validation import LOG_LEVELS, Problems

__all__ = [
    "AsyncInvokeConfig",
    "Function",
    "FunctionAlarms",
    "FunctionArgs",
    "component_function_args",
    "function_problems",
]

_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_ENV_PREFIXES = ("AWS_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_")


class AsyncInvokeConfig(TypedDict):
    """How Lambda retries an asynchronous invocation of this function and where a failed event goes."""

    max_retry_attempts: int  # 0..2
    max_event_age_seconds: int  # 60..21600
    on_failure_queue_arn: NotRequired[pulumi.Input[str]]


class FunctionAlarms(TypedDict, total=False):
    """Alarm thresholds of one function (defaults in brackets)."""

    errors_threshold: int  # Errors summed over 1 minute [1]
    throttles_threshold: int  # Throttles summed over 5 minutes [1]
    duration_ratio: float  # p99 Duration over 5 minutes vs. the timeout [0.9]


class FunctionArgs(TypedDict):
    """Arguments of :class:`Function`. ``handler_package`` is a folder under ``handlers/``; ``handler`` is
    ``module.function`` inside it."""

    handler_package: str
    handler: str
    alarm_topic_arn: pulumi.Input[str]
    memory_mb: NotRequired[int]  # [256] 128..10240
    timeout_seconds: NotRequired[int]  # [30] 1..900
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    log_retention_days: NotRequired[int]  # [30]
    log_level: NotRequired[str]  # [INFO]
    service_name: NotRequired[str]  # [the component name]
    metrics_namespace: NotRequired[str]  # [the Pulumi project name]
    reserved_concurrency: NotRequired[int]  # [none]
    async_config: NotRequired[AsyncInvokeConfig]
    alarms: NotRequired[FunctionAlarms]
    function_name: NotRequired[str]  # [<project>-<stack>-<name>]
    handlers_root: NotRequired[str]  # [handlers/ of the Pulumi project (the working folder)] holding handler_package
    description: NotRequired[str]


DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_DURATION_RATIO = 0.9
XRAY_WRITE = star_grant(
    ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], STAR_RESOURCE_ACTIONS["xray:PutTraceSegments"]
)


_PER_FUNCTION_FIELDS = ("memory_mb", "timeout_seconds", "reserved_concurrency")
_COMPONENT_WIDE_FIELDS = ("log_retention_days", "log_level", "metrics_namespace", "handlers_root")


def component_function_args(
    spec: Mapping[str, Any],
    component: Mapping[str, Any],
    environment: Mapping[str, pulumi.Input[str]] | None = None,
    grants: list[Grant] | None = None,
) -> FunctionArgs:
    """The function block's arguments for a Lambda a pattern owns.

    ``spec`` is the pattern's per-function argument (handler, memory, timeout, grants, environment, ...),
    ``component`` the pattern's own arguments (alarm topic, log settings, handlers root). The pattern's grants and
    environment come first, the caller's are added to them.
    """
    function: FunctionArgs = {
        "handler_package": spec.get("handler_package", ""),
        "handler": spec.get("handler", ""),
        "alarm_topic_arn": component["alarm_topic_arn"],
        "grants": [*(grants or []), *spec.get("grants", [])],
        "environment": {**(environment or {}), **spec.get("environment", {})},
    }
    for key in _PER_FUNCTION_FIELDS:
        if key in spec:
            function[key] = spec[key]  # type: ignore[literal-required]
    for key in _COMPONENT_WIDE_FIELDS:
        if key in component:
            function[key] = component[key]  # type: ignore[literal-required]
    return function


def function_problems(name: str, args: FunctionArgs) -> list[str]:
    """Every problem of ``args`` (used by :class:`Function` and by components that validate early)."""
    p = Problems(name)
    root = Path(args.get("handlers_root") or default_handlers_root())
    p.extend(handler_problems(args.get("handler_package", ""), args.get("handler", ""), root))
    p.int_range("memory_mb", args.get("memory_mb", DEFAULT_MEMORY_MB), 128, 10240)
    p.int_range("timeout_seconds", args.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS), 1, 900)
    p.log_retention("log_retention_days", args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS))
    p.one_of("log_level", args.get("log_level", "INFO"), LOG_LEVELS)
    if "reserved_concurrency" in args:
        p.int_range("reserved_concurrency", args["reserved_concurrency"], 1, 10000)
    p.extend(grant_problems(args.get("grants", [])))
    for key in args.get("environment", {}):
        if not _ENV_NAME.match(key):
            p.add(f"environment variable {key!r} is not a valid name")
        elif key.startswith(_RESERVED_ENV_PREFIXES):
            p.add(f"environment variable {key!r} is reserved (AWS_*, POWERTOOLS_*, LAMBDA_* are set by the block)")
    if "async_config" in args:
        config = args["async_config"]
        p.int_range("async_config.max_retry_attempts", config.get("max_retry_attempts"), 0, 2)
        p.int_range("async_config.max_event_age_seconds", config.get("max_event_age_seconds"), 60, 21600)
    alarms = args.get("alarms", {})
    p.int_range("alarms.errors_threshold", alarms.get("errors_threshold", 1), 1, 1_000_000)
    p.int_range("alarms.throttles_threshold", alarms.get("throttles_threshold", 1), 1, 1_000_000)
    ratio = alarms.get("duration_ratio", DEFAULT_DURATION_RATIO)
    p.check(isinstance(ratio, float | int) and 0 < ratio <= 1, f"alarms.duration_ratio must be in (0, 1], got {ratio}")
    if "function_name" in args:
        fname = args["function_name"]
        p.check(bool(re.match(r"^[A-Za-z0-9_-]{1,64}$", fname)), f"function_name {fname!r} is not a valid name")
    return p.items


class Function(pulumi.ComponentResource):
    """One Lambda function with its role, log group and alarms. See :class:`FunctionArgs`."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    timeout_seconds: int

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Function", name, None, opts)
        problems = Problems(f"Function {name!r}")
        problems.extend(function_problems(name, args))
        problems.raise_if_any()

        child = pulumi.ResourceOptions(parent=self)
        timeout = args.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        self.timeout_seconds = timeout
        fn_name = args.get("function_name") or physical_name(name)
        log_level = args.get("log_level", "INFO")
        region = current_region(self)
        account = current_account(self)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{fn_name}",
            retention_in_days=args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
            opts=child,
        )
        log_stream_arn = pulumi.Output.format(
            "arn:aws:logs:{0}:{1}:log-group:/aws/lambda/{2}:*", region, account, fn_name
        )
        grants: list[Grant] = [grant(["logs:CreateLogStream", "logs:PutLogEvents"], [log_stream_arn]), XRAY_WRITE]
        async_config = args.get("async_config")
        if async_config and "on_failure_queue_arn" in async_config:
            # Lambda sends the failed event with the function's own role.
            grants.append(grant(["sqs:SendMessage"], [async_config["on_failure_queue_arn"]]))
        grants.extend(args.get("grants", []))

        role = service_role(f"{name}-role", "lambda.amazonaws.com", f"Execution role of {fn_name}", self)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(grants), opts=child)

        archive = build_archive(args["handler_package"], Path(args.get("handlers_root") or default_handlers_root()))
        environment: dict[str, pulumi.Input[str]] = {
            "POWERTOOLS_SERVICE_NAME": args.get("service_name", name),
            "POWERTOOLS_METRICS_NAMESPACE": args.get("metrics_namespace", pulumi.get_project()),
            "POWERTOOLS_LOG_LEVEL": log_level,
            **args.get("environment", {}),
        }
        function = aws.lambda_.Function(
            name,
            name=fn_name,
            description=args.get("description", f"{args['handler_package']}.{args['handler']}"),
            role=role.arn,
            runtime=LAMBDA_RUNTIME,
            architectures=[ARCHITECTURE],
            handler=f"{args['handler_package']}.{args['handler']}",
            code=pulumi.FileArchive(str(archive.path)),
            source_code_hash=archive.sha256_b64,
            memory_size=args.get("memory_mb", DEFAULT_MEMORY_MB),
            timeout=timeout,
            layers=[powertools_layer_arn(region)],
            tracing_config={"mode": "Active"},
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": log_level,
                "system_log_level": "WARN",
            },
            environment={"variables": environment},
            reserved_concurrent_executions=args.get("reserved_concurrency", -1),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy]),
        )

        if async_config:
            destination: aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgsDict | None = (
                {"on_failure": {"destination": async_config["on_failure_queue_arn"]}}
                if "on_failure_queue_arn" in async_config
                else None
            )
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                maximum_retry_attempts=async_config["max_retry_attempts"],
                maximum_event_age_in_seconds=async_config["max_event_age_seconds"],
                destination_config=destination,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self._alarms(name, function.name, timeout, args)

        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.role_name = role.name
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "function_name": function.name,
                "function_arn": function.arn,
                "role_arn": role.arn,
                "log_group_name": log_group.name,
            }
        )

    def _alarms(self, name: str, function_name: pulumi.Output[str], timeout: int, args: FunctionArgs) -> None:
        thresholds = args.get("alarms", {})
        dims: dict[str, pulumi.Input[str]] = {"FunctionName": function_name}
        topic = args["alarm_topic_arn"]
        metric_alarm(
            f"{name}-errors",
            AlarmSpec(
                "AWS/Lambda",
                "Errors",
                dims,
                thresholds.get("errors_threshold", 1),
                "Function errors (each failed invocation, including retried ones).",
            ),
            topic,
            self,
        )
        metric_alarm(
            f"{name}-throttles",
            AlarmSpec(
                "AWS/Lambda",
                "Throttles",
                dims,
                thresholds.get("throttles_threshold", 1),
                "Invocations throttled by concurrency limits.",
                period_seconds=300,
            ),
            topic,
            self,
        )
        ratio = thresholds.get("duration_ratio", DEFAULT_DURATION_RATIO)
        metric_alarm(
            f"{name}-duration",
            AlarmSpec(
                "AWS/Lambda",
                "Duration",
                dims,
                round(timeout * 1000 * ratio),
                f"p99 duration above {ratio:.0%} of the {timeout}s timeout: invocations are about to time out.",
                statistic=None,
                extended_statistic="p99",
                period_seconds=300,
            ),
            topic,
            self,
        )
