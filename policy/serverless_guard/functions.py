"""Lambda: explicit sizing, the current runtime on arm64, JSON logs into a retained log group, X-Ray, scoped
permissions, and a failure destination for every function something invokes asynchronously.

A function counts as invoked asynchronously when the stack holds an asynchronous invoker for it: a Scheduler
schedule or EventBridge target, an SNS ``lambda`` subscription, an S3 notification, a Lambda permission for a
service that pushes events asynchronously, a Step Functions Task invoking it with ``InvocationType: Event``, or an
async invoke config of its own. Functions that only event source mappings poll for, or that Step Functions invoke
synchronously, return their errors to the caller and are exempt; so is a function nothing in the stack invokes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from serverless_guard.definitions import invoked_function, lambda_tasks
from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, StackRule, Violation, violation
from serverless_guard.stack import Stack
from serverless_guard.types import (
    BUCKET_NOTIFICATION,
    EVENT_TARGET,
    FUNCTION,
    INVOKE_CONFIG,
    LOG_GROUP,
    PERMISSION,
    SCHEDULE,
    STATE_MACHINE,
    SUBSCRIPTION,
)

__all__ = ["ASYNC_PRINCIPALS", "RULES"]

#: Services that invoke a function asynchronously when granted a Lambda permission.
ASYNC_PRINCIPALS = frozenset(
    {
        "sns.amazonaws.com",
        "events.amazonaws.com",
        "s3.amazonaws.com",
        "logs.amazonaws.com",
        "ses.amazonaws.com",
        "iot.amazonaws.com",
        "config.amazonaws.com",
        "codecommit.amazonaws.com",
        "lambda.alarms.cloudwatch.amazonaws.com",
    }
)
_DEFAULTS = {"memorySize": "Lambda's default is 128 MB", "timeout": "Lambda's default is 3 seconds"}
_SETTINGS = {"memorySize": "memory_size (the Function block's memory_mb)", "timeout": "timeout (timeout_seconds)"}


def _explicit_sizing(fn: Resource, _: GuardConfig) -> Iterator[Violation]:
    # Providers that fill in defaults list them in __defaults: a listed value was not chosen.
    defaulted = fn.get("__defaults")
    defaulted = defaulted if isinstance(defaulted, Sequence) and not isinstance(defaulted, str) else []
    for key, default in _DEFAULTS.items():
        if fn.get(key) is None or key in defaulted:
            yield violation(fn, f"{key} is not set ({default})", f"set {_SETTINGS[key]} to what the handler needs")


def _latest_runtime(fn: Resource, config: GuardConfig) -> Iterator[Violation]:
    if fn.get("packageType") == "Image":
        return  # a container image brings its own runtime
    runtime = fn.get("runtime")
    if runtime is not UNKNOWN and runtime != config.runtime:
        yield violation(
            fn,
            f"runs {runtime or 'no runtime'}, not {config.runtime}",
            f"set runtime='{config.runtime}' (the Function block's default) and test the handler on it",
        )


def _tracing(fn: Resource, _: GuardConfig) -> Iterator[Violation]:
    mode = fn.get("tracingConfig", "mode")
    if mode not in ("Active", UNKNOWN):
        yield violation(fn, f"X-Ray tracing is {mode or 'off'}", "set tracing_config={'mode': 'Active'}")


def _arm64(fn: Resource, _: GuardConfig) -> Iterator[Violation]:
    architectures = fn.get("architectures")
    if architectures is UNKNOWN or (isinstance(architectures, Sequence) and list(architectures) == ["arm64"]):
        return
    shown = ", ".join(str(a) for a in architectures) if isinstance(architectures, Sequence) else "x86_64 (default)"
    yield violation(
        fn, f"runs on {shown}", "set architectures=['arm64'] (Graviton: cheaper per GB-second; pure Python ports)"
    )


def _json_logs(fn: Resource, _: GuardConfig) -> Iterator[Violation]:
    log_format = fn.get("loggingConfig", "logFormat")
    if log_format not in ("JSON", UNKNOWN):
        yield violation(
            fn,
            f"writes {log_format or 'Text'} logs",
            "set logging_config={'log_format': 'JSON', ...} so log levels and fields can be filtered and queried",
        )


def _permission(permission: Resource, _: GuardConfig) -> Iterator[Violation]:
    action, principal = permission.get("action"), permission.get("principal")
    if isinstance(action, str) and "*" in action:
        yield violation(
            permission, f"grants {action}", "grant exactly lambda:InvokeFunction (or lambda:InvokeFunctionUrl)"
        )
    if isinstance(principal, str) and "*" in principal:
        yield violation(
            permission, f"grants principal {principal!r}", "name the service or account that invokes the function"
        )
    elif (
        isinstance(principal, str)
        and principal.endswith(".amazonaws.com")
        and permission.get("sourceArn") is None
        and permission.get("sourceAccount") is None
    ):
        yield violation(
            permission,
            f"lets {principal} invoke on behalf of any resource in any account",
            "set source_arn to the topic, rule, bucket or API that invokes the function",
        )


def _function_by_reference(stack: Stack, holder: Resource, prop: str, value: Any) -> list[Resource]:
    return stack.referenced(holder, prop, value, stack.of_type(FUNCTION))


def _async_invoked(stack: Stack) -> dict[str, str]:
    """URN of each function invoked asynchronously → what invokes it."""
    invoked: dict[str, str] = {}

    def mark(holder: Resource, prop: str, value: Any, how: str) -> None:
        for fn in _function_by_reference(stack, holder, prop, value):
            invoked.setdefault(fn.urn, how)

    for r in stack.resources:
        if r.type == SCHEDULE:
            mark(r, "target", r.get("target", "arn"), f"schedule '{r.name}'")
        elif r.type == EVENT_TARGET:
            mark(r, "arn", r.get("arn"), f"EventBridge target '{r.name}'")
        elif r.type == SUBSCRIPTION and r.get("protocol") == "lambda":
            mark(r, "endpoint", r.get("endpoint"), f"SNS subscription '{r.name}'")
        elif r.type == PERMISSION and r.get("principal") in ASYNC_PRINCIPALS:
            mark(r, "function", r.get("function"), f"{r.get('principal')} (permission '{r.name}')")
        elif r.type == INVOKE_CONFIG:
            mark(r, "functionName", r.get("functionName"), f"its async invoke config '{r.name}'")
        elif r.type == BUCKET_NOTIFICATION:
            for item in r.get("lambdaFunctions") or []:
                if isinstance(item, Mapping):
                    mark(r, "lambdaFunctions", item.get("lambdaFunctionArn"), f"S3 notification '{r.name}'")
        elif r.type == STATE_MACHINE:
            for _, task in lambda_tasks(r.get("definition")):
                arguments = task.get("Parameters") or task.get("Arguments") or {}
                if isinstance(arguments, Mapping) and arguments.get("InvocationType") == "Event":
                    mark(r, "definition", invoked_function(task), f"state machine '{r.name}' (InvocationType Event)")
    return invoked


def _async_failure_destination(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    destinations: set[str] = set()
    for config in stack.of_type(INVOKE_CONFIG):
        if config.get("destinationConfig", "onFailure", "destination") is not None:
            destinations.update(
                fn.urn for fn in _function_by_reference(stack, config, "functionName", config.get("functionName"))
            )
    invoked = _async_invoked(stack)
    for fn in stack.of_type(FUNCTION):
        if fn.urn not in invoked or fn.urn in destinations or fn.get("deadLetterConfig", "targetArn") is not None:
            continue
        yield violation(
            fn,
            f"is invoked asynchronously (by {invoked[fn.urn]}) but a failed event has nowhere to go",
            "add a FunctionEventInvokeConfig with destination_config.on_failure on a queue (the Function block's "
            "async_config.on_failure_queue_arn), or a dead_letter_config",
        )


def _log_group(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    groups = stack.of_type(LOG_GROUP)
    for fn in stack.of_type(FUNCTION):
        name, group_name = fn.get("name"), fn.get("loggingConfig", "logGroup")
        if group_name is None:
            if name is UNKNOWN or name is None:
                continue
            group_name = f"/aws/lambda/{name}"
        matched = stack.referenced(fn, "loggingConfig", group_name, groups)
        if group_name is not UNKNOWN and not matched:
            yield violation(
                fn,
                f"logs to {group_name}, which the stack does not declare (Lambda would create it, keeping logs "
                "forever)",
                f"declare aws.cloudwatch.LogGroup(name='{group_name}', retention_in_days=...) before the function",
            )
        for group in matched:
            if not _retained(group):
                yield violation(
                    fn,
                    f"logs to log group '{group.name}', which keeps logs forever",
                    "set retention_in_days on that log group",
                )


def _retained(group: Resource) -> bool:
    days = group.get("retentionInDays")
    return days is UNKNOWN or (isinstance(days, int | float) and not isinstance(days, bool) and days > 0)


RULES = [
    ResourceRule(
        "lambda-explicit-memory-and-timeout",
        "Lambda functions set their memory size and timeout explicitly.",
        frozenset({FUNCTION}),
        _explicit_sizing,
        cdk_nag=("Serverless-LambdaDefaultMemorySize", "Serverless-LambdaDefaultTimeout"),
    ),
    ResourceRule(
        "lambda-latest-runtime",
        "Lambda functions run the configured (latest) runtime.",
        frozenset({FUNCTION}),
        _latest_runtime,
        config=("runtime",),
        cdk_nag=("Serverless-LambdaLatestVersion", "AwsSolutions-L1"),
    ),
    ResourceRule(
        "lambda-xray-tracing",
        "Lambda functions trace with X-Ray in Active mode.",
        frozenset({FUNCTION}),
        _tracing,
        cdk_nag=("Serverless-LambdaTracing",),
    ),
    ResourceRule(
        "lambda-arm64",
        "Lambda functions run on arm64 (Graviton).",
        frozenset({FUNCTION}),
        _arm64,
    ),
    ResourceRule(
        "lambda-json-logs",
        "Lambda functions write JSON logs.",
        frozenset({FUNCTION}),
        _json_logs,
    ),
    ResourceRule(
        "lambda-permission-no-wildcards",
        "Lambda permissions name one action and one principal, and a service principal is scoped by source ARN.",
        frozenset({PERMISSION}),
        _permission,
        cdk_nag=("Serverless-LambdaStarPermissions",),
    ),
    StackRule(
        "lambda-log-group-retention",
        "Every Lambda function's log group is declared in the stack with a retention period.",
        _log_group,
        cdk_nag=("Serverless-CloudWatchLogGroupRetentionPeriod",),
    ),
    StackRule(
        "lambda-async-failure-destination",
        "Every asynchronously invoked Lambda function has an on-failure destination or a dead-letter queue.",
        _async_failure_destination,
        cdk_nag=("Serverless-LambdaAsyncFailureDestination", "Serverless-LambdaDLQ"),
    ),
]
