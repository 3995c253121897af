"""The function block: every Lambda in the project is built here.

Role with an inline policy from explicit grants, log group ``/aws/lambda/<name>`` with retention created before the
function, JSON logs, X-Ray Active, explicit memory and timeout, python3.13 on arm64 by default with the Powertools
layer AWS publishes for that runtime and architecture (read from its public SSM parameter, so it follows the
provider's region and partition), optional reserved concurrency, async invoke config, VPC and extra layers, and
alarms on Errors, Throttles and p99 Duration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.archive import build_archive, default_handlers_root, handler_problems
from serverless_patterns.internals.iam import (
    STAR_RESOURCE_ACTIONS,
    Grant,
    GrantSettings,
    grant,
    grant_problems,
    policy_document,
    star_grant,
)
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import (
    ARCHITECTURE,
    ARCHITECTURES,
    LAMBDA_RUNTIME,
    RUNTIMES,
    current_account,
    current_partition,
    current_region,
    powertools_layer_arn,
)
from serverless_patterns.internals.settings import setting, settings_problems, typed_settings
from serverless_patterns.internals.validation import LOG_LEVELS, LOG_RETENTION_DAYS, ArgumentError

__all__ = [
    "DEFAULT_LOG_RETENTION_DAYS",
    "DEFAULT_TIMEOUT_SECONDS",
    "AsyncInvokeConfig",
    "AsyncInvokeSettings",
    "Function",
    "FunctionAlarmSettings",
    "FunctionAlarms",
    "FunctionArgs",
    "FunctionSettings",
    "FunctionVpc",
    "FunctionVpcSettings",
    "component_function_args",
    "function_problems",
]

Runtime = Literal["python3.13", "python3.12"]
Architecture = Literal["arm64", "x86_64"]

_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_ENV_PREFIXES = ("AWS_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_LAYERS = 5  # per function, Lambda's limit
_UNRESERVED = -1  # reserved_concurrent_executions meaning "no reservation"


class AsyncInvokeConfig(TypedDict):
    """How Lambda retries an asynchronous invocation of this function and where a failed event goes."""

    max_retry_attempts: int
    max_event_age_seconds: int
    on_failure_queue_arn: NotRequired[pulumi.Input[str]]


class FunctionAlarms(TypedDict, total=False):
    """Alarm thresholds of one function (defaults: :class:`FunctionAlarmSettings`)."""

    errors_threshold: int
    throttles_threshold: int
    duration_ratio: float


class FunctionVpc(TypedDict):
    """The subnets and security groups of the network interfaces through which the function reaches a VPC."""

    subnet_ids: list[pulumi.Input[str]]
    security_group_ids: list[pulumi.Input[str]]


class FunctionArgs(TypedDict):
    """Arguments of :class:`Function` (defaults and rules: :class:`FunctionSettings`). ``handler_package`` is a
    folder under ``handlers/``; ``handler`` is ``module.function`` inside it."""

    handler_package: str
    handler: str
    alarm_topic_arn: pulumi.Input[str]
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    service_name: NotRequired[str]
    metrics_namespace: NotRequired[str]
    reserved_concurrency: NotRequired[int]
    async_config: NotRequired[AsyncInvokeConfig]
    alarms: NotRequired[FunctionAlarms]
    function_name: NotRequired[str]
    handlers_root: NotRequired[str]
    description: NotRequired[str]
    runtime: NotRequired[Runtime]
    architecture: NotRequired[Architecture]
    layers: NotRequired[list[pulumi.Input[str]]]
    powertools_layer_arn: NotRequired[pulumi.Input[str] | Literal[False]]
    vpc: NotRequired[FunctionVpc]
    log_kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys


def _ratio_problem(ratio: float) -> str | None:
    return None if 0 < ratio <= 1 else f"must be in (0, 1], got {ratio}"


def _ids_problem(prefix: str, most: int, kind: str) -> Callable[[tuple[Any, ...]], str | None]:
    def problem(ids: tuple[Any, ...]) -> str | None:
        if not 1 <= len(ids) <= most:
            return f"must name 1 to {most} {kind} ids, got {len(ids)}"
        wrong = [i for i in ids if isinstance(i, str) and not i.startswith(prefix)]
        return f"must hold ids starting with {prefix!r}, got {wrong[0]!r}" if wrong else None

    return problem


def _function_name_problem(name: str) -> str | None:
    return None if _FUNCTION_NAME.match(name) else f"must be 1 to 64 letters, digits, '-' or '_'; got {name!r}"


def _powertools_problem(layer: object) -> str | None:
    return "must be an ARN, or false for no layer; got True" if layer is True else None


@dataclass(frozen=True)
class AsyncInvokeSettings:
    """:class:`AsyncInvokeConfig` resolved."""

    max_retry_attempts: int = setting(low=0, high=2, doc="Lambda's retries of a failed asynchronous invocation")
    max_event_age_seconds: int = setting(low=60, high=21600, doc="how long an event may wait to be processed")
    on_failure_queue_arn: pulumi.Input[str] | None = setting(
        None, arn=True, doc="where a failed event goes; the role gets `sqs:SendMessage` on exactly it"
    )


@dataclass(frozen=True)
class FunctionAlarmSettings:
    """:class:`FunctionAlarms` resolved: the thresholds of the function's three alarms."""

    errors_threshold: int = setting(1, low=1, high=1_000_000, doc="Errors summed over 1 minute")
    throttles_threshold: int = setting(1, low=1, high=1_000_000, doc="Throttles summed over 5 minutes")
    duration_ratio: float = setting(
        0.9, check=_ratio_problem, doc="p99 Duration over 5 minutes as a fraction of the timeout, in (0, 1]"
    )


@dataclass(frozen=True)
class FunctionVpcSettings:
    """:class:`FunctionVpc` resolved."""

    subnet_ids: tuple[pulumi.Input[str], ...] = setting(
        check=_ids_problem("subnet-", 16, "subnet"),
        doc="1 to 16 `subnet-` ids; private subnets need a NAT gateway or VPC endpoints for the AWS APIs called",
    )
    security_group_ids: tuple[pulumi.Input[str], ...] = setting(
        check=_ids_problem("sg-", 5, "security group"), doc="1 to 5 `sg-` ids"
    )


@dataclass(frozen=True)
class FunctionSettings:
    """:class:`FunctionArgs` resolved: every default and rule of the function block."""

    handler_package: str = setting(doc="folder under `handlers/`; the archive holds it and `handler_runtime/`")
    handler: str = setting(doc="`module.function` inside the package (Lambda handler `<package>.<module>.<function>`)")
    alarm_topic_arn: pulumi.Input[str] = setting(arn=True, doc="every alarm notifies it")
    memory_mb: int = setting(256, low=128, high=10240)
    timeout_seconds: int = setting(30, low=1, high=900)
    grants: tuple[GrantSettings, ...] = setting(
        (),
        doc='`{"actions": [...], "resources": [...], "reason"?: str}`; Resource `*` only for actions without '
        "resource scope, with a reason",
    )
    environment: Mapping[str, pulumi.Input[str]] | None = setting(
        None, default_doc="{}", doc="`AWS_*`, `POWERTOOLS_*`, `LAMBDA_*` are reserved"
    )
    log_retention_days: int = setting(30, choices=tuple(sorted(LOG_RETENTION_DAYS)))
    log_level: str = setting(
        "INFO",
        choices=LOG_LEVELS,
        doc=f"{', '.join(LOG_LEVELS)} (Lambda's application log level and Powertools')",
    )
    service_name: str | None = setting(None, default_doc="the component name", doc="`POWERTOOLS_SERVICE_NAME`")
    metrics_namespace: str | None = setting(
        None, default_doc="the Pulumi project", doc="`POWERTOOLS_METRICS_NAMESPACE`"
    )
    reserved_concurrency: int | None = setting(None, low=1, high=10000)
    async_config: AsyncInvokeSettings | None = setting(None, doc="retries and on-failure destination, below")
    alarms: FunctionAlarmSettings = setting(FunctionAlarmSettings(), default_doc="below", doc="thresholds, below")
    function_name: str | None = setting(
        None,
        check=_function_name_problem,
        default_doc="`<project>-<stack>-<name>`",
        doc="the default is shortened with a stable hash beyond 64 characters",
    )
    handlers_root: str | None = setting(
        None,
        default_doc="this project's `handlers/`",
        doc="where `handler_package` lives, for projects that import the components",
    )
    description: str | None = setting(None, default_doc="`<package>.<handler>`")
    runtime: str = setting(LAMBDA_RUNTIME, choices=RUNTIMES)
    architecture: str = setting(ARCHITECTURE, choices=ARCHITECTURES)
    layers: tuple[pulumi.Input[str], ...] = setting(
        (), arn=True, doc="more layer ARNs, after the Powertools layer (Lambda takes 5 in all)"
    )
    powertools_layer_arn: pulumi.Input[str] | bool | None = setting(
        None,
        arn=True,
        check=_powertools_problem,
        default_doc="the one AWS publishes",
        doc="read from SSM `/aws/service/powertools/python/<architecture>/<runtime>/<version>` in the provider's "
        "region; an ARN to use another, `False` for none",
    )
    vpc: FunctionVpcSettings | None = setting(
        None,
        doc="`{subnet_ids, security_group_ids}`, below; the role gets the network interface actions Lambda needs",
    )
    log_kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="CloudWatch Logs' encryption",
        doc="a customer key for the log group; its policy must admit CloudWatch Logs (`CustomerKey` does); a "
        "pattern's `kms_key_arn` is used here",
    )


#: The default timeout, for patterns that size their own timeouts around their functions'.
DEFAULT_TIMEOUT_SECONDS: int = FunctionSettings.timeout_seconds
DEFAULT_LOG_RETENTION_DAYS: int = FunctionSettings.log_retention_days
XRAY_WRITE = star_grant(
    ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], STAR_RESOURCE_ACTIONS["xray:PutTraceSegments"]
)
#: What Lambda does with the role of a VPC function: create, find and delete its network interfaces.
VPC_NETWORK_INTERFACES = star_grant(
    [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ],
    STAR_RESOURCE_ACTIONS["ec2:CreateNetworkInterface"],
)

_PER_FUNCTION_FIELDS = ("memory_mb", "timeout_seconds", "reserved_concurrency")
_COMPONENT_WIDE_FIELDS = ("log_retention_days", "log_level", "metrics_namespace", "handlers_root")
_ESCAPE_HATCH_FIELDS = ("runtime", "architecture", "layers", "powertools_layer_arn", "vpc")


def component_function_args(
    spec: Mapping[str, Any],
    component: Mapping[str, Any],
    environment: Mapping[str, pulumi.Input[str]] | None = None,
    grants: list[Grant] | None = None,
) -> FunctionArgs:
    """The function block's arguments for a Lambda a pattern owns.

    ``spec`` is the pattern's per-function argument (handler, memory, timeout, grants, environment, ...),
    ``component`` the pattern's own arguments (alarm topic, log settings, handlers root). The pattern's grants and
    environment come first, the caller's are added to them. The escape hatches (runtime, architecture, layers,
    powertools_layer_arn, vpc) are taken from the component, and the spec overrides them, when present; the
    component's ``kms_key_arn`` encrypts the function's log group.
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
    for key in _ESCAPE_HATCH_FIELDS:
        for source in (component, spec):
            if key in source:
                function[key] = source[key]  # type: ignore[literal-required]
    if component.get("kms_key_arn") is not None:  # the pattern's customer key encrypts its functions' logs too
        function["log_kms_key_arn"] = component["kms_key_arn"]
    return function


def _handlers_root(settings: FunctionSettings) -> Path:
    return Path(settings.handlers_root or default_handlers_root())


def _handler_problems(settings: FunctionSettings) -> list[str]:
    return handler_problems(settings.handler_package, settings.handler, _handlers_root(settings))


def _environment_problems(settings: FunctionSettings) -> list[str]:
    problems: list[str] = []
    for key in settings.environment or {}:
        if not _ENV_NAME.match(key):
            problems.append(f"environment variable {key!r} is not a valid name")
        elif key.startswith(_RESERVED_ENV_PREFIXES):
            problems.append(
                f"environment variable {key!r} is reserved (AWS_*, POWERTOOLS_*, LAMBDA_* are set by the block)"
            )
    return problems


def _grants_problems(settings: FunctionSettings) -> list[str]:
    return grant_problems([g.as_grant() for g in settings.grants])


def _layer_count_problems(settings: FunctionSettings) -> list[str]:
    total = len(settings.layers) + (0 if settings.powertools_layer_arn is False else 1)
    if total <= _MAX_LAYERS:
        return []
    return [f"layers: Lambda takes at most {_MAX_LAYERS} layers, the Powertools layer included; got {total}"]


#: Rules across fields (or needing more than one problem per field), run on settings whose values have their types.
_CROSS_FIELD_RULES: tuple[Callable[[FunctionSettings], list[str]], ...] = (
    _handler_problems,
    _environment_problems,
    _grants_problems,
    _layer_count_problems,
)


def _checked(args: Any) -> tuple[FunctionSettings | None, list[str]]:
    settings, problems = settings_problems(FunctionSettings, args)
    typed = settings or typed_settings(FunctionSettings, args)
    if typed is not None:
        problems += [problem for rule in _CROSS_FIELD_RULES for problem in rule(typed)]
    return (settings if not problems else None), problems


def function_problems(name: str, args: FunctionArgs) -> list[str]:
    """Every problem of ``args`` (for patterns that validate the functions they will build, before building)."""
    return _checked(args)[1]


class Function(pulumi.ComponentResource):
    """One Lambda function with its role, log group and alarms. See :class:`FunctionArgs`."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    timeout_seconds: int
    settings: FunctionSettings

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Function", name, None, opts)
        settings, problems = _checked(args)
        if settings is None:
            raise ArgumentError(f"Function {name!r}", problems or ["the arguments could not be read"])
        self.settings = settings

        child = pulumi.ResourceOptions(parent=self)
        self.timeout_seconds = settings.timeout_seconds
        fn_name = settings.function_name or physical_name(name)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{fn_name}",
            retention_in_days=settings.log_retention_days,
            kms_key_id=settings.log_kms_key_arn,
            opts=child,
        )
        log_stream_arn = pulumi.Output.format(
            "arn:{0}:logs:{1}:{2}:log-group:/aws/lambda/{3}:*",
            current_partition(self),
            current_region(self),
            current_account(self),
            fn_name,
        )
        grants: list[Grant] = [grant(["logs:CreateLogStream", "logs:PutLogEvents"], [log_stream_arn]), XRAY_WRITE]
        if settings.vpc is not None:
            grants.append(VPC_NETWORK_INTERFACES)
        async_config = settings.async_config
        if async_config is not None and async_config.on_failure_queue_arn is not None:
            # Lambda sends the failed event with the function's own role.
            grants.append(grant(["sqs:SendMessage"], [async_config.on_failure_queue_arn]))
        grants.extend(g.as_grant() for g in settings.grants)

        role = service_role(f"{name}-role", "lambda.amazonaws.com", f"Execution role of {fn_name}", self)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(grants), opts=child)

        archive = build_archive(settings.handler_package, _handlers_root(settings))
        handler = f"{settings.handler_package}.{settings.handler}"
        environment: dict[str, pulumi.Input[str]] = {
            "POWERTOOLS_SERVICE_NAME": settings.service_name or name,
            "POWERTOOLS_METRICS_NAMESPACE": settings.metrics_namespace or pulumi.get_project(),
            "POWERTOOLS_LOG_LEVEL": settings.log_level,
            **(settings.environment or {}),
        }
        vpc = settings.vpc
        function = aws.lambda_.Function(
            name,
            name=fn_name,
            description=settings.description or handler,
            role=role.arn,
            runtime=settings.runtime,
            architectures=[settings.architecture],
            handler=handler,
            code=pulumi.FileArchive(str(archive.path)),
            source_code_hash=archive.sha256_b64,
            memory_size=settings.memory_mb,
            timeout=settings.timeout_seconds,
            layers=self._layers(settings) or None,
            tracing_config={"mode": "Active"},
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": settings.log_level,
                "system_log_level": "WARN",
            },
            environment={"variables": environment},
            vpc_config=(
                {"subnet_ids": list(vpc.subnet_ids), "security_group_ids": list(vpc.security_group_ids)}
                if vpc is not None
                else None
            ),
            reserved_concurrent_executions=(
                settings.reserved_concurrency if settings.reserved_concurrency is not None else _UNRESERVED
            ),
            # The policy first: Lambda checks the role's network interface actions when it creates a VPC function.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy]),
        )

        if async_config is not None:
            destination: aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgsDict | None = (
                {"on_failure": {"destination": async_config.on_failure_queue_arn}}
                if async_config.on_failure_queue_arn is not None
                else None
            )
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                maximum_retry_attempts=async_config.max_retry_attempts,
                maximum_event_age_in_seconds=async_config.max_event_age_seconds,
                destination_config=destination,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self._alarms(name, function.name, settings)

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

    def _layers(self, settings: FunctionSettings) -> list[pulumi.Input[str]]:
        """The Powertools layer (the one AWS publishes, unless given or refused), then the extra layers."""
        chosen = settings.powertools_layer_arn
        if chosen is None:
            powertools = [powertools_layer_arn(self, settings.runtime, settings.architecture)]
        elif isinstance(chosen, bool):  # False: no layer (True is refused by the settings)
            powertools = []
        else:
            powertools = [chosen]
        return [*powertools, *settings.layers]

    def _alarms(self, name: str, function_name: pulumi.Output[str], settings: FunctionSettings) -> None:
        thresholds = settings.alarms
        timeout = settings.timeout_seconds
        dims: dict[str, pulumi.Input[str]] = {"FunctionName": function_name}
        topic = settings.alarm_topic_arn
        metric_alarm(
            f"{name}-errors",
            AlarmSpec(
                "AWS/Lambda",
                "Errors",
                dims,
                thresholds.errors_threshold,
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
                thresholds.throttles_threshold,
                "Invocations throttled by concurrency limits.",
                period_seconds=300,
            ),
            topic,
            self,
        )
        ratio = thresholds.duration_ratio
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
