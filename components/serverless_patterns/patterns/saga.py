"""Saga: a Step Functions Standard workflow generated from ordered steps with compensating transactions.

The definition comes from :mod:`serverless_patterns.patterns.saga_definition`. The role may invoke exactly the
saga's Lambdas; the log-delivery and X-Ray actions it needs have no resource scope and are on ``*``. Executions
are logged at level ALL with execution data to a ``/aws/vendedlogs/states/`` log group and traced with X-Ray.
Every ARN the component writes is in its provider's partition.

Arguments are resolved into :class:`SagaSettings` (every default and range, the retry budgets included, is
declared there); the rules across fields — the pivot's, the business errors', the worst case against the
execution timeout — are the small functions below, run once every field reads well.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import ClassVar, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import (
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_TIMEOUT_SECONDS,
    Function,
    function_problems,
)
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.handler_settings import AS_FUNCTION, HandlerSettings, pattern_function_args
from serverless_patterns.internals.iam import STAR_RESOURCE_ACTIONS, Grant, grant, policy_document, star_grant
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import current_account, current_partition
from serverless_patterns.internals.settings import resolve, setting, settings_problems
from serverless_patterns.internals.validation import ArgumentError
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
    "SagaHandlerSettings",
    "SagaRetry",
    "SagaRetrySettings",
    "SagaSettings",
    "SagaStep",
    "SagaStepSettings",
    "saga_problems",
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
ALARMED_METRICS = {
    "ExecutionsFailed": "A saga failed: a compensation kept failing and its side effects need a human.",
    "ExecutionsTimedOut": "A saga ran past its execution timeout.",
    "ExecutionThrottled": "Step Functions throttled state transitions of the saga.",
    "ExecutionsAborted": "A saga execution was stopped by hand or by an API call.",
}
#: State machine names may be 80 characters long.
MACHINE_NAME_LENGTH = 80
_ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,127}$")
_STEP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class SagaHandler(TypedDict):
    """A Lambda of the saga (defaults and rules: :class:`SagaHandlerSettings`)."""

    handler_package: str
    handler: str
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    grants: NotRequired[list[Grant]]


class SagaRetry(TypedDict, total=False):
    """How a Task is retried (defaults and rules: :class:`SagaRetrySettings`)."""

    max_attempts: int
    interval_seconds: int
    backoff_rate: float
    max_delay_seconds: int


class SagaStep(TypedDict):
    """One step of the saga (defaults and rules: :class:`SagaStepSettings`)."""

    name: str
    action: SagaHandler
    compensation: NotRequired[SagaHandler]
    business_errors: NotRequired[list[str]]
    retry: NotRequired[SagaRetry]


class SagaArgs(TypedDict):
    """Arguments of :class:`Saga` (defaults and rules: :class:`SagaSettings`)."""

    steps: list[SagaStep]
    final_handler: SagaHandler
    alarm_topic_arn: pulumi.Input[str]
    pivot: NotRequired[str]
    execution_timeout_seconds: NotRequired[int]
    execution_timeout_bound_seconds: NotRequired[int]
    compensation_retry: NotRequired[SagaRetry]
    task_timeout_margin_seconds: NotRequired[int]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


@dataclass(frozen=True, kw_only=True)
class SagaHandlerSettings(HandlerSettings):
    """:class:`SagaHandler` resolved: an action, a compensation or the final handler."""


@dataclass(frozen=True)
class SagaRetrySettings:
    """:class:`SagaRetry` resolved: exponential backoff, capped, with full jitter. The attempts left out depend on
    where the Task is: a step before the pivot retries transient errors only, the pivot and the steps after it
    cannot be undone and get the longer budget, compensations and the final handler retry any error."""

    STEP_ATTEMPTS: ClassVar[int] = 3
    FORWARD_ATTEMPTS: ClassVar[int] = 6
    COMPENSATION_ATTEMPTS: ClassVar[int] = 5

    max_attempts: int | None = setting(
        None,
        low=0,
        high=10,
        default_doc=f"{STEP_ATTEMPTS} before the pivot, {FORWARD_ATTEMPTS} from it, {COMPENSATION_ATTEMPTS} for "
        "compensations and the final handler",
    )
    interval_seconds: int = setting(1, low=1, high=300, doc="the first wait")
    backoff_rate: float = setting(2.0, low=1, high=10, doc="each wait is this times the one before")
    max_delay_seconds: int = setting(30, low=1, high=3600, doc="no wait is longer; at least `interval_seconds`")

    def policy(self, attempts: int) -> RetryPolicy:
        """This retry as the definition writes it, with ``attempts`` when ``max_attempts`` was left out."""
        return RetryPolicy(
            attempts if self.max_attempts is None else self.max_attempts,
            self.interval_seconds,
            self.backoff_rate,
            self.max_delay_seconds,
        )


def _step_name_problem(name: str) -> str | None:
    if _STEP_NAME.match(name):
        return None
    return f"must be lower-case letters, digits and '-', starting with a letter, at most 40 characters; got {name!r}"


@dataclass(frozen=True)
class SagaStepSettings:
    """:class:`SagaStep` resolved."""

    name: str = setting(check=_step_name_problem, doc="unique; lower-case letters, digits, `-`")
    action: SagaHandlerSettings = setting(
        doc="idempotent: it is retried, and a timeout after its write looks exactly like one before it"
    )
    compensation: SagaHandlerSettings | None = setting(
        None, doc="undoes the action, and does nothing when the action did nothing; none from the pivot on"
    )
    business_errors: tuple[str, ...] = setting(
        (),
        doc="error names never retried: the saga compensates at once (no transient error names; none after the pivot)",
    )
    retry: SagaRetrySettings = setting(
        SagaRetrySettings(),
        default_doc="the retry defaults",
        doc="before the pivot on transient errors and timeouts, from it on any error but its business errors",
    )


def _at_least_one_step(steps: tuple[SagaStepSettings, ...]) -> str | None:
    return None if steps else "must hold at least one step"


@dataclass(frozen=True)
class SagaSettings:
    """:class:`SagaArgs` resolved: every default and range of the Saga pattern."""

    steps: tuple[SagaStepSettings, ...] = setting(check=_at_least_one_step, doc="ordered; at least one (below)")
    final_handler: SagaHandlerSettings = setting(
        doc="runs after the compensations (receives the state with `$.error`), e.g. to mark the order cancelled"
    )
    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    pivot: str | None = setting(None, doc="a step name: from it on the saga only goes forward (see above)")
    execution_timeout_seconds: int = setting(
        300,
        low=1,
        high=31_536_000,
        doc="at least the worst case of the retry budgets (every step, compensation and the final handler retried "
        "to the end), because a timed-out execution compensates nothing",
    )
    execution_timeout_bound_seconds: int | None = setting(None, doc="the timeout must be shorter (e.g. the order TTL)")
    compensation_retry: SagaRetrySettings = setting(
        SagaRetrySettings(), default_doc="the retry defaults", doc="for compensations and the final handler"
    )
    task_timeout_margin_seconds: int = setting(
        5, low=1, high=300, doc="a Task's `TimeoutSeconds` is its function's timeout plus this"
    )
    kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="CloudWatch Logs' encryption",
        doc="a customer key (`CustomerKey`) for the state machine's log group (level ALL logs execution data) and "
        "the functions' log groups",
    )
    log_retention_days: int = setting(
        DEFAULT_LOG_RETENTION_DAYS, doc="every function, and the state machine's log group (as `Function`)"
    )
    log_level: str | None = setting(None, default_doc=AS_FUNCTION, doc="every function of the saga")
    metrics_namespace: str | None = setting(None, default_doc=AS_FUNCTION, doc="every function of the saga")
    handlers_root: str | None = setting(None, default_doc=AS_FUNCTION, doc="holds every handler package")


def _forward_names(settings: SagaSettings) -> set[str]:
    """The pivot and the steps after it."""
    names = [step.name for step in settings.steps]
    pivot = settings.pivot
    return set(names[names.index(pivot) :]) if pivot in names else set()


def _step_retry(step: SagaStepSettings, forward: bool) -> RetryPolicy:
    return step.retry.policy(SagaRetrySettings.FORWARD_ATTEMPTS if forward else SagaRetrySettings.STEP_ATTEMPTS)


def _compensation_retry(settings: SagaSettings) -> RetryPolicy:
    return settings.compensation_retry.policy(SagaRetrySettings.COMPENSATION_ATTEMPTS)


def _retry_problems(where: str, retry: SagaRetrySettings) -> list[str]:
    if retry.max_delay_seconds >= retry.interval_seconds:
        return []
    return [
        f"{where}.max_delay_seconds must be at least interval_seconds ({retry.interval_seconds}), "
        f"got {retry.max_delay_seconds}"
    ]


def _pivot_problems(settings: SagaSettings) -> list[str]:
    names = [step.name for step in settings.steps]
    problems = [f"steps: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    pivot = settings.pivot
    if pivot is not None and pivot not in names:
        problems.append(f"pivot {pivot!r} is not a step (steps: {', '.join(names)})")
    forward = _forward_names(settings)
    for index, step in enumerate(settings.steps):
        if step.name not in forward:
            continue
        if step.compensation is not None:
            problems.append(
                f"steps[{index}]: the pivot and the steps after it are never compensated; remove the compensation"
            )
        if step.name != pivot and step.business_errors:
            problems.append(
                f"steps[{index}]: a step after the pivot cannot refuse (the outcome is decided); no business errors"
            )
    return problems


def _business_error_problems(where: str, step: SagaStepSettings) -> list[str]:
    problems: list[str] = []
    for error in step.business_errors:
        if not _ERROR_NAME.match(error):
            problems.append(f"{where}.business_errors: {error!r} is not an error name")
        elif error in TRANSIENT_ERRORS or error.startswith("States."):
            problems.append(
                f"{where}.business_errors: {error!r} is retried as a transient error; it cannot be a business error"
            )
    return problems


def _handler_problems(where: str, handler: SagaHandlerSettings, settings: SagaSettings) -> list[str]:
    return [f"{where}: {p}" for p in function_problems(where, pattern_function_args(handler, settings))]


def saga_problems(settings: SagaSettings) -> list[str]:
    """Every problem across the fields of ``settings``; the worst case is checked when there is no other."""
    problems = _pivot_problems(settings)
    for index, step in enumerate(settings.steps):
        where = f"steps[{index}]"
        problems += _business_error_problems(where, step)
        problems += _retry_problems(f"{where}.retry", step.retry)
        problems += _handler_problems(f"{where}.action", step.action, settings)
        if step.compensation is not None:
            problems += _handler_problems(f"{where}.compensation", step.compensation, settings)
    problems += _handler_problems("final_handler", settings.final_handler, settings)
    problems += _retry_problems("compensation_retry", settings.compensation_retry)
    timeout, bound = settings.execution_timeout_seconds, settings.execution_timeout_bound_seconds
    if bound is not None and timeout >= bound:
        problems.append(f"execution_timeout_seconds {timeout} must be shorter than the bound {bound}")
    if not problems and (worst := worst_case_seconds(settings)) > timeout:
        problems.append(
            f"execution_timeout_seconds {timeout} is shorter than the worst case of the retry budgets "
            f"({worst:.0f}s: every step, compensation and the final handler retried to the end); a timed-out "
            "execution compensates nothing, so shorten the function timeouts or retries, or raise the timeout"
        )
    return problems


def _settings(args: SagaArgs, subject: str) -> SagaSettings:
    """``args`` resolved, or one :class:`ArgumentError`: every field's problems, else every rule's."""
    settings, problems = settings_problems(SagaSettings, args)
    if settings is not None:
        problems = saga_problems(settings)
    if settings is None or problems:
        raise ArgumentError(subject, problems)
    return settings


def worst_case_seconds(saga: SagaArgs | SagaSettings) -> float:
    """The longest an execution can run before it ends by itself: all steps, all compensations and the final
    handler, each retried to exhaustion (the execution timeout must not cut a compensation short)."""
    settings = saga if isinstance(saga, SagaSettings) else resolve(SagaSettings, saga, "Saga")
    margin = settings.task_timeout_margin_seconds

    def task(handler: SagaHandlerSettings) -> int:
        timeout = DEFAULT_TIMEOUT_SECONDS if handler.timeout_seconds is None else handler.timeout_seconds
        return timeout + margin

    compensation_retry = _compensation_retry(settings)
    total = compensation_retry.worst_case_seconds(task(settings.final_handler))
    forward = _forward_names(settings)
    for step in settings.steps:
        total += _step_retry(step, step.name in forward).worst_case_seconds(task(step.action))
        if step.compensation is not None:
            total += compensation_retry.worst_case_seconds(task(step.compensation))
    return total


def state_machine_arn_for(
    name: str, region: pulumi.Input[str], account_id: pulumi.Input[str], partition: pulumi.Input[str]
) -> pulumi.Output[str]:
    """The ARN the Saga called ``name`` will have: its state machine's name is known before it exists, so a
    starter (a FanOut subscriber) can be granted ``states:StartExecution`` on it without a dependency cycle.
    ``partition`` is the provider's (``aws.get_partition_output(...).partition``): aws, aws-cn or aws-us-gov."""
    return pulumi.Output.format(
        "arn:{0}:states:{1}:{2}:stateMachine:{3}",
        partition,
        region,
        account_id,
        physical_name(name, MACHINE_NAME_LENGTH),
    )


class Saga(pulumi.ComponentResource):
    """An orchestrated saga with compensations. See :class:`SagaArgs`."""

    settings: SagaSettings
    state_machine_arn: pulumi.Output[str]
    state_machine_name: pulumi.Output[str]
    functions: dict[str, Function]

    def __init__(self, name: str, args: SagaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Saga", name, None, opts)
        settings = self.settings = _settings(args, f"Saga {name!r}")
        child = pulumi.ResourceOptions(parent=self)

        self.functions = {}
        for step in settings.steps:
            self.functions[step.name] = Function(
                f"{name}-{step.name}", pattern_function_args(step.action, settings), opts=child
            )
            if step.compensation is not None:
                key = f"{step.name}-compensation"
                self.functions[key] = Function(
                    f"{name}-{key}", pattern_function_args(step.compensation, settings), opts=child
                )
        self.functions["final"] = Function(
            f"{name}-final", pattern_function_args(settings.final_handler, settings), opts=child
        )

        keys = list(self.functions)
        arns = pulumi.Output.all(*[self.functions[k].function_arn for k in keys]).apply(
            lambda values: dict(zip(keys, values, strict=True))
        )

        def plan(key: str, resolved: dict[str, str]) -> HandlerPlan:
            return HandlerPlan(resolved[key], self.functions[key].timeout_seconds)

        forward = _forward_names(settings)

        def definition(resolved: dict[str, str], partition: str) -> str:
            steps = [
                StepPlan(
                    name=step.name,
                    action=plan(step.name, resolved),
                    retry=_step_retry(step, step.name in forward),
                    compensation=plan(f"{step.name}-compensation", resolved) if step.compensation else None,
                    business_errors=step.business_errors,
                    forward=step.name in forward,
                )
                for step in settings.steps
            ]
            return json.dumps(
                build_definition(
                    steps,
                    plan("final", resolved),
                    execution_timeout_seconds=settings.execution_timeout_seconds,
                    compensation_retry=_compensation_retry(settings),
                    partition=partition,
                    task_timeout_margin_seconds=settings.task_timeout_margin_seconds,
                    comment=f"Saga {name}: " + " -> ".join(step.name for step in settings.steps),
                ),
                indent=2,
            )

        machine_name = physical_name(name, MACHINE_NAME_LENGTH)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/vendedlogs/states/{machine_name}",
            retention_in_days=settings.log_retention_days,
            kms_key_id=settings.kms_key_arn,  # level ALL logs execution data: keep it under the stack's key
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
            definition=pulumi.Output.all(arns, current_partition(self)).apply(lambda both: definition(*both)),
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
                settings.alarm_topic_arn,
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
