"""Saga: a Step Functions Standard workflow generated from ordered steps with compensating transactions.

The definition comes from :mod:`serverless_patterns.patterns.saga_definition`. The role may invoke exactly the
saga's Lambdas; the log-delivery and X-Ray actions it needs have no resource scope and are on ``*``. Executions
are logged at level ALL with execution data to a ``/aws/vendedlogs/states/`` log group and traced with X-Ray.
"""

from __future__ import annotations

import json
import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import (
    DEFAULT_TIMEOUT_SECONDS,
    Function,
    FunctionArgs,
    component_function_args,
    function_problems,
)
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.iam import STAR_RESOURCE_ACTIONS, Grant, grant, policy_document, star_grant
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import current_account
from serverless_patterns.internals.validation import Problems
from serverless_patterns.patterns.saga_definition import (
    TRANSIENT_ERRORS,
    HandlerPlan,
    RetryPolicy,
    StepPlan,
    build_definition,
)

__all__ = [
    "Saga",
    "SagaArgs",
    "SagaHandler",
    "SagaRetry",
    "SagaStep",
    "state_machine_arn_for",
    "worst_case_seconds",
]

LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
DEFAULT_EXECUTION_TIMEOUT = 300
ALARMED_METRICS = {
    "ExecutionsFailed": "A saga failed: a compensation kept failing and its side effects need a human.",
    "ExecutionsTimedOut": "A saga ran past its execution timeout.",
    "ExecutionThrottled": "Step Functions throttled state transitions of the saga.",
    "ExecutionsAborted": "A saga execution was stopped by hand or by an API call.",
}
_ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}$")


class SagaHandler(TypedDict):
    handler_package: str
    handler: str
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]


class SagaRetry(TypedDict, total=False):
    max_attempts: int  # [3] 0..10
    interval_seconds: int  # [1] 1..300
    backoff_rate: float  # [2.0] 1..10
    max_delay_seconds: int  # [30] >= interval, <= 3600


class SagaStep(TypedDict):
    name: str
    action: SagaHandler  # idempotent: it is retried, and a timeout after its write looks like one before it
    compensation: NotRequired[SagaHandler]  # undo of the action; must be a no-op when the action did nothing
    business_errors: NotRequired[list[str]]  # error names never retried (they compensate at once)
    retry: NotRequired[SagaRetry]  # before the pivot: on transient errors [3 attempts]; from it: on any error [6]


class SagaArgs(TypedDict):
    steps: list[SagaStep]
    final_handler: SagaHandler  # runs after the compensations (e.g. mark the order cancelled)
    alarm_topic_arn: pulumi.Input[str]
    pivot: NotRequired[str]  # the step that decides the outcome: from it on, the saga only goes forward
    execution_timeout_seconds: NotRequired[int]  # [300]
    execution_timeout_bound_seconds: NotRequired[int]  # the timeout must be shorter (e.g. the order TTL)
    compensation_retry: NotRequired[SagaRetry]  # [5 attempts, 1 s, x2, max 30 s]
    task_timeout_margin_seconds: NotRequired[int]  # [5] TimeoutSeconds = function timeout + margin
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


def _retry(spec: SagaRetry | None, default: RetryPolicy) -> RetryPolicy:
    spec = spec or {}
    return RetryPolicy(
        max_attempts=spec.get("max_attempts", default.max_attempts),
        interval_seconds=spec.get("interval_seconds", default.interval_seconds),
        backoff_rate=spec.get("backoff_rate", default.backoff_rate),
        max_delay_seconds=spec.get("max_delay_seconds", default.max_delay_seconds),
    )


DEFAULT_COMPENSATION_RETRY = RetryPolicy(max_attempts=5)
#: Forward steps (the pivot and after) cannot be undone, so they get the longer budget before PivotFailed.
DEFAULT_FORWARD_RETRY = RetryPolicy(max_attempts=6)


def _forward_names(args: SagaArgs) -> set[str]:
    """The pivot and the steps after it."""
    names = [step.get("name") for step in args.get("steps") or []]
    pivot = args.get("pivot")
    return {str(n) for n in names[names.index(pivot) :]} if pivot in names else set()


def _step_retry(step: SagaStep, forward: bool) -> RetryPolicy:
    return _retry(step.get("retry"), DEFAULT_FORWARD_RETRY if forward else RetryPolicy())


def _retry_problems(where: str, spec: SagaRetry | None, default: RetryPolicy) -> list[str]:
    p = Problems(where)
    retry = _retry(spec, default)
    p.int_range(f"{where}.max_attempts", retry.max_attempts, 0, 10)
    p.int_range(f"{where}.interval_seconds", retry.interval_seconds, 1, 300)
    rate = retry.backoff_rate
    p.check(isinstance(rate, int | float) and 1 <= rate <= 10, f"{where}.backoff_rate must be in [1, 10], got {rate}")
    p.int_range(f"{where}.max_delay_seconds", retry.max_delay_seconds, 1, 3600)
    if isinstance(retry.max_delay_seconds, int) and isinstance(retry.interval_seconds, int):
        p.check(
            retry.max_delay_seconds >= retry.interval_seconds, f"{where}.max_delay_seconds must be >= interval_seconds"
        )
    return p.items


def _function_args(spec: SagaHandler, args: SagaArgs) -> FunctionArgs:
    return component_function_args(spec, args)


def saga_problems(args: SagaArgs) -> list[str]:
    p = Problems("saga")
    steps = args.get("steps") or []
    p.check(bool(steps), "steps: at least one step is required")
    names = [s.get("name") for s in steps]
    p.extend(f"steps: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1}))
    pivot = args.get("pivot")
    if pivot is not None and pivot not in names:
        p.add(f"pivot {pivot!r} is not a step (steps: {', '.join(str(n) for n in names)})")
    forward = _forward_names(args)
    for index, step in enumerate(steps):
        where = f"steps[{index}] ({step.get('name', '?')})"
        if step.get("name") in forward:
            if "compensation" in step:
                p.add(f"{where}: the pivot and the steps after it are never compensated; remove the compensation")
            if step.get("name") != pivot and step.get("business_errors"):
                p.add(f"{where}: a step after the pivot cannot refuse (the outcome is decided); no business errors")
        if not isinstance(step.get("name"), str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", step["name"]):
            p.add(f"{where}: name must be lower-case letters, digits and '-', at most 40 characters")
        if "action" not in step:
            p.add(f"{where}: an action handler is required")
        else:
            p.extend(f"{where}.action: {e}" for e in function_problems("action", _function_args(step["action"], args)))
        if "compensation" in step:
            p.extend(
                f"{where}.compensation: {e}"
                for e in function_problems("compensation", _function_args(step["compensation"], args))
            )
        for error in step.get("business_errors", []):
            if not _ERROR_NAME.match(error):
                p.add(f"{where}: business error {error!r} is not an error name")
            elif error in TRANSIENT_ERRORS or error.startswith("States."):
                p.add(f"{where}: {error!r} is retried as a transient error; it cannot be a business error")
        default = DEFAULT_FORWARD_RETRY if step.get("name") in forward else RetryPolicy()
        p.extend(_retry_problems(f"{where}.retry", step.get("retry"), default))
    if "final_handler" not in args:
        p.add("final_handler is required")
    else:
        p.extend(f"final_handler: {e}" for e in function_problems("final", _function_args(args["final_handler"], args)))
    p.extend(_retry_problems("compensation_retry", args.get("compensation_retry"), DEFAULT_COMPENSATION_RETRY))
    timeout = args.get("execution_timeout_seconds", DEFAULT_EXECUTION_TIMEOUT)
    p.int_range("execution_timeout_seconds", timeout, 1, 31_536_000)
    if "execution_timeout_bound_seconds" in args and isinstance(timeout, int):
        bound = args["execution_timeout_bound_seconds"]
        p.check(timeout < bound, f"execution_timeout_seconds {timeout} must be shorter than the bound {bound}")
    p.int_range("task_timeout_margin_seconds", args.get("task_timeout_margin_seconds", 5), 1, 300)
    if not p.items and isinstance(timeout, int):
        worst = worst_case_seconds(args)
        p.check(
            worst <= timeout,
            f"execution_timeout_seconds {timeout} is shorter than the worst case of the retry budgets "
            f"({worst:.0f}s: every step, compensation and the final handler retried to the end); a timed-out "
            "execution compensates nothing, so shorten the function timeouts or retries, or raise the timeout",
        )
    return p.items


def worst_case_seconds(args: SagaArgs) -> float:
    """The longest an execution can run before it ends by itself: all steps, all compensations and the final
    handler, each retried to exhaustion (the execution timeout must not cut a compensation short)."""
    margin = args.get("task_timeout_margin_seconds", 5)

    def task(handler: SagaHandler) -> int:
        return handler.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS) + margin

    compensation_retry = _retry(args.get("compensation_retry"), DEFAULT_COMPENSATION_RETRY)
    total = compensation_retry.worst_case_seconds(task(args["final_handler"]))
    forward = _forward_names(args)
    for step in args["steps"]:
        total += _step_retry(step, step["name"] in forward).worst_case_seconds(task(step["action"]))
        if "compensation" in step:
            total += compensation_retry.worst_case_seconds(task(step["compensation"]))
    return total


def state_machine_arn_for(
    name: str, region: pulumi.Input[str], account_id: pulumi.Input[str], partition: str = "aws"
) -> pulumi.Output[str]:
    """The ARN the Saga called ``name`` will have: its state machine's name is known before it exists, so a
    starter (a FanOut subscriber) can be granted ``states:StartExecution`` on it without a dependency cycle."""
    return pulumi.Output.format(
        "arn:{0}:states:{1}:{2}:stateMachine:{3}", partition, region, account_id, physical_name(name, 80)
    )


class Saga(pulumi.ComponentResource):
    """An orchestrated saga with compensations. See :class:`SagaArgs`."""

    state_machine_arn: pulumi.Output[str]
    state_machine_name: pulumi.Output[str]
    functions: dict[str, Function]

    def __init__(self, name: str, args: SagaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Saga", name, None, opts)
        problems = Problems(f"Saga {name!r}")
        problems.extend(saga_problems(args))
        problems.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        margin = args.get("task_timeout_margin_seconds", 5)

        self.functions = {}
        for step in args["steps"]:
            self.functions[step["name"]] = Function(
                f"{name}-{step['name']}", _function_args(step["action"], args), opts=child
            )
            if "compensation" in step:
                key = f"{step['name']}-compensation"
                self.functions[key] = Function(f"{name}-{key}", _function_args(step["compensation"], args), opts=child)
        self.functions["final"] = Function(f"{name}-final", _function_args(args["final_handler"], args), opts=child)

        keys = list(self.functions)
        arns = pulumi.Output.all(*[self.functions[k].function_arn for k in keys]).apply(
            lambda values: dict(zip(keys, values, strict=True))
        )

        def plan(key: str, resolved: dict[str, str]) -> HandlerPlan:
            return HandlerPlan(resolved[key], self.functions[key].timeout_seconds)

        forward = _forward_names(args)

        def definition(resolved: dict[str, str]) -> str:
            steps = [
                StepPlan(
                    name=step["name"],
                    action=plan(step["name"], resolved),
                    compensation=plan(f"{step['name']}-compensation", resolved) if "compensation" in step else None,
                    business_errors=tuple(step.get("business_errors", [])),
                    retry=_step_retry(step, step["name"] in forward),
                    forward=step["name"] in forward,
                )
                for step in args["steps"]
            ]
            return json.dumps(
                build_definition(
                    steps,
                    plan("final", resolved),
                    execution_timeout_seconds=args.get("execution_timeout_seconds", DEFAULT_EXECUTION_TIMEOUT),
                    compensation_retry=_retry(args.get("compensation_retry"), DEFAULT_COMPENSATION_RETRY),
                    task_timeout_margin_seconds=margin,
                    comment=f"Saga {name}: " + " -> ".join(s["name"] for s in args["steps"]),
                ),
                indent=2,
            )

        machine_name = physical_name(name, 80)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/vendedlogs/states/{machine_name}",
            retention_in_days=args.get("log_retention_days", 30),
            opts=child,
        )
        account = current_account(self)
        role = service_role(
            f"{name}-role",
            "states.amazonaws.com",
            f"Role of the {machine_name} state machine",
            self,
            source_account=account,
        )
        grants: list[Grant] = [
            grant(["lambda:InvokeFunction"], [f.function_arn for f in self.functions.values()]),
            star_grant(LOG_DELIVERY_ACTIONS, STAR_RESOURCE_ACTIONS["logs:CreateLogDelivery"]),
            star_grant(XRAY_ACTIONS, STAR_RESOURCE_ACTIONS["xray:PutTraceSegments"]),
        ]
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy_document(grants), opts=child)
        machine = aws.sfn.StateMachine(
            name,
            name=machine_name,
            type="STANDARD",
            role_arn=role.arn,
            definition=arns.apply(definition),
            logging_configuration={
                "level": "ALL",
                "include_execution_data": True,
                "log_destination": log_group.arn.apply(lambda arn: f"{arn}:*"),
            },
            tracing_configuration={"enabled": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        for metric, description in ALARMED_METRICS.items():
            metric_alarm(
                f"{name}-{re.sub(r'(?<!^)(?=[A-Z])', '-', metric).lower()}",
                AlarmSpec("AWS/States", metric, {"StateMachineArn": machine.arn}, 1, description),
                args["alarm_topic_arn"],
                self,
            )
        self.state_machine_arn = machine.arn
        self.state_machine_name = machine.name
        self.register_outputs(
            {
                "state_machine_arn": machine.arn,
                "state_machine_name": machine.name,
                "function_names": {k: f.function_name for k, f in self.functions.items()},
            }
        )
