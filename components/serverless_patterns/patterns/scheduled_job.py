"""ScheduledJob: EventBridge Scheduler → Lambda, safe to retry and never overlapping.

Scheduler invokes the function asynchronously: its retry policy and DLQ cover delivery (the Invoke call), the
function's async config covers the function's own errors; one failure queue serves both. Reserved concurrency 1
keeps runs from overlapping: an overlapping run is throttled and retried by the async machinery until its maximum
event age, so the job's Throttles alarm has its own, tolerant threshold. Every run receives its scheduled time,
the key of the handler's idempotency, so a retried or duplicated run does nothing twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import Function, FunctionArgs, component_function_args, function_problems
from serverless_patterns.blocks.queue import (
    DLQ_RETENTION_SECONDS,
    IDEMPOTENCY_EXPIRY_ENV,
    FailureQueue,
    FailureQueueArgs,
)
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.handler_settings import COMPONENT_FUNCTION_FIELDS, FUNCTION_FIELDS, given
from serverless_patterns.internals.iam import Grant, grant, kms_use_grant, policy_document
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import current_account
from serverless_patterns.internals.schedule_expression import Schedule, ScheduleError, parse_schedule, parse_timezone
from serverless_patterns.internals.settings import setting, settings_problems
from serverless_patterns.internals.validation import ArgumentError

__all__ = [
    "ScheduledJob",
    "ScheduledJobArgs",
    "ScheduledJobSettings",
    "missed_run_window",
    "scheduled_job_problems",
]

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
HOUR, DAY = 3600, 86400


class ScheduledJobArgs(TypedDict):
    """Arguments of :class:`ScheduledJob` (defaults and rules: :class:`ScheduledJobSettings`)."""

    schedule: str
    handler_package: str
    handler: str
    alarm_topic_arn: pulumi.Input[str]
    timezone: NotRequired[str]
    flexible_window_minutes: NotRequired[int]
    start_date: NotRequired[str]
    end_date: NotRequired[str]
    group_name: NotRequired[str]
    input: NotRequired[dict[str, Any]]
    retry_attempts: NotRequired[int]
    max_event_age_seconds: NotRequired[int]
    reserved_concurrency: NotRequired[int]
    async_retry_attempts: NotRequired[int]
    async_max_event_age_seconds: NotRequired[int]
    throttles_alarm_threshold: NotRequired[int]
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys


def _expression_problem(expression: str) -> str | None:
    try:
        parse_schedule(expression)  # the time zone is judged on its own, and cannot make a valid expression invalid
    except ScheduleError as error:
        return f"is not valid: {error}"
    return None


def _timezone_problem(name: str) -> str | None:
    try:
        parse_timezone(name)
    except ScheduleError:
        return f"must be an IANA time zone name such as Europe/Paris, got {name!r}"
    return None


def _date_problem(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"must be an ISO 8601 date and time, got {value!r}"
    return None if parsed.tzinfo is not None else f"needs a UTC offset (e.g. Z or +01:00), got {value!r}"


def _input_problem(extra: Mapping[str, Any]) -> str | None:
    if "scheduled_time" in extra:
        return "may not set scheduled_time: the schedule supplies it"
    try:
        json.dumps(extra)
    except (TypeError, ValueError):
        return "must be JSON-serialisable"
    return None


@dataclass(frozen=True)
class ScheduledJobSettings:
    """:class:`ScheduledJobArgs` resolved: every default and rule of the pattern. The function's own fields are left
    to the Function block when unset."""

    schedule: str = setting(
        check=_expression_problem, doc="`rate(5 minutes)`, `cron(0/5 * * * ? *)`, `at(2027-01-01T09:00:00)`"
    )
    handler_package: str = setting(doc="as `Function`")
    handler: str = setting(doc="as `Function`")
    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    timezone: str = setting("UTC", check=_timezone_problem, doc="IANA name")
    flexible_window_minutes: int | None = setting(None, low=1, high=1440, default_doc="off")
    start_date: str | None = setting(None, check=_date_problem, doc="ISO 8601 with a UTC offset")
    end_date: str | None = setting(None, check=_date_problem, doc="ISO 8601 with a UTC offset; after `start_date`")
    group_name: str | None = setting(None, default_doc="a schedule group of its own")
    input: dict[str, Any] | None = setting(
        None,
        check=_input_problem,
        default_doc="{}",
        doc="extra JSON fields of the event (`scheduled_time` is reserved)",
    )
    retry_attempts: int = setting(2, low=0, high=185, doc="Scheduler's delivery retries")
    max_event_age_seconds: int = setting(HOUR, low=60, high=DAY, doc="Scheduler's delivery window")
    reserved_concurrency: int = setting(
        1,
        low=0,
        high=10000,
        doc="keeps runs from overlapping; 0 = no reservation (accounts with a low concurrency quota; runs may then "
        "overlap)",
    )
    async_retry_attempts: int = setting(2, low=0, high=2, doc="Lambda's retries of a failed run")
    async_max_event_age_seconds: int = setting(HOUR, low=60, high=21600, doc="Lambda's window for those retries")
    throttles_alarm_threshold: int = setting(
        30, low=1, high=1_000_000, doc="throttles per 5 minutes; tolerates overlap prevention"
    )
    memory_mb: int | None = setting(None, default_doc="as `Function`")
    timeout_seconds: int | None = setting(None, default_doc="as `Function`")
    grants: tuple[Mapping[str, Any], ...] = setting((), doc="as `Function`")
    environment: Mapping[str, pulumi.Input[str]] | None = setting(
        None, doc=f"as `Function`; `{IDEMPOTENCY_EXPIRY_ENV}` is set for you"
    )
    log_retention_days: int | None = setting(None, default_doc="as `Function`")
    log_level: str | None = setting(None, default_doc="as `Function`")
    metrics_namespace: str | None = setting(None, default_doc="as `Function`")
    handlers_root: str | None = setting(None, default_doc="as `Function`")
    kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="SSE-SQS, CloudWatch Logs' encryption",
        doc="a customer key (`CustomerKey`) for the DLQ and the function's log group; the function and Scheduler's "
        "role are granted it (both send to the DLQ)",
    )


def missed_run_window(period_seconds: int, flexible_window_minutes: int) -> tuple[int, int] | None:
    """(alarm period, evaluation periods) covering one expected run plus the flexible window and a minute of
    slack, within CloudWatch's limits: period x evaluation periods at most 1 day for periods under an hour, 7 days
    otherwise. None when the run interval is too long for any alarm window."""
    needed = period_seconds + flexible_window_minutes * 60 + 60
    needed = math.ceil(needed / 60) * 60
    if needed <= DAY:
        return needed, 1
    if needed <= 7 * DAY:
        return HOUR, math.ceil(needed / HOUR)
    return None


def job_schedule(settings: ScheduledJobSettings) -> Schedule:
    """The parsed schedule, in its time zone (both were checked on their own)."""
    return parse_schedule(settings.schedule, settings.timezone)


def missed_run_alarm_window(settings: ScheduledJobSettings) -> tuple[int, int] | None:
    """The missed-run alarm's (period, evaluation periods), for schedules with a constant interval only."""
    period = job_schedule(settings).period_seconds
    return None if period is None else missed_run_window(period, settings.flexible_window_minutes or 0)


def redelivery_window(settings: ScheduledJobSettings) -> int:
    """How long after its scheduled time a run's event can still reach the function: Scheduler's and Lambda's
    retries up to their maximum event ages, then a hand re-send from the DLQ within its 14 days."""
    return settings.max_event_age_seconds + settings.async_max_event_age_seconds + DLQ_RETENTION_SECONDS


def _function_args(settings: ScheduledJobSettings) -> FunctionArgs:
    spec = given(settings, FUNCTION_FIELDS)
    if not settings.reserved_concurrency:
        del spec["reserved_concurrency"]  # 0: no reservation
    key_grants = [kms_use_grant(settings.kms_key_arn)] if settings.kms_key_arn is not None else []
    return component_function_args(
        spec,
        given(settings, COMPONENT_FUNCTION_FIELDS),
        {IDEMPOTENCY_EXPIRY_ENV: str(redelivery_window(settings))},
        key_grants,  # the failed runs it sends to the DLQ are encrypted with the key
    )


def _rule_problems(settings: ScheduledJobSettings) -> list[str]:
    """The rules relating the settings to each other and to the function block."""
    problems: list[str] = []
    start, end = settings.start_date, settings.end_date
    if start is not None and end is not None and datetime.fromisoformat(end) <= datetime.fromisoformat(start):
        problems.append("end_date must be after start_date")
    window = redelivery_window(settings)
    expiry = (settings.environment or {}).get(IDEMPOTENCY_EXPIRY_ENV)
    if isinstance(expiry, str) and not (expiry.isdigit() and int(expiry) >= window):
        problems.append(
            f"environment {IDEMPOTENCY_EXPIRY_ENV} {expiry} is shorter than the {window}s a run's event can come "
            "back (Scheduler's and Lambda's event ages + the DLQ's 14 days): a re-sent run would apply its effects "
            "twice"
        )
    return problems + function_problems("job", _function_args(settings))


def scheduled_job_problems(args: Any) -> tuple[ScheduledJobSettings | None, list[str]]:
    """The settings from ``args`` and every problem: arguments that do not read, else the rules relating them."""
    settings, problems = settings_problems(ScheduledJobSettings, args)
    if settings is None:
        return None, problems
    problems = _rule_problems(settings)
    return (settings if not problems else None), problems


class ScheduledJob(pulumi.ComponentResource):
    """A scheduled Lambda. See :class:`ScheduledJobArgs`."""

    schedule_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]
    group_name: pulumi.Output[str]
    function_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    settings: ScheduledJobSettings

    def __init__(self, name: str, args: ScheduledJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:ScheduledJob", name, None, opts)
        resolved, problems = scheduled_job_problems(args)
        if resolved is None:
            raise ArgumentError(f"ScheduledJob {name!r}", problems)
        settings = self.settings = resolved
        schedule = job_schedule(settings)
        child = pulumi.ResourceOptions(parent=self)
        topic = settings.alarm_topic_arn

        dlq_args: FailureQueueArgs = {"alarm_topic_arn": topic}
        if settings.kms_key_arn is not None:
            dlq_args["kms_key_arn"] = settings.kms_key_arn
        dlq = FailureQueue(f"{name}-dlq", dlq_args, opts=child)
        function_args = _function_args(settings)
        function_args["async_config"] = {
            "max_retry_attempts": settings.async_retry_attempts,
            "max_event_age_seconds": settings.async_max_event_age_seconds,
            "on_failure_queue_arn": dlq.queue_arn,
        }
        function_args["alarms"] = {"throttles_threshold": settings.throttles_alarm_threshold}
        function = Function(f"{name}-function", function_args, opts=child)

        if settings.group_name is not None:
            group_name: pulumi.Input[str] = settings.group_name
        else:
            group = aws.scheduler.ScheduleGroup(f"{name}-group", name=physical_name(name), opts=child)
            group_name = group.name

        role = service_role(
            f"{name}-scheduler-role",
            "scheduler.amazonaws.com",
            f"EventBridge Scheduler role of the {name} job",
            self,
            source_account=current_account(self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=role.id,
            policy=policy_document(
                [
                    grant(["lambda:InvokeFunction"], [function.function_arn]),
                    grant(["sqs:SendMessage"], [dlq.queue_arn]),
                    *([kms_use_grant(settings.kms_key_arn)] if settings.kms_key_arn is not None else []),
                ]
            ),
            opts=child,
        )
        window = settings.flexible_window_minutes
        schedule_resource = aws.scheduler.Schedule(
            name,
            name=physical_name(name),
            group_name=group_name,
            schedule_expression=schedule.expression,
            schedule_expression_timezone=settings.timezone,
            start_date=settings.start_date,
            end_date=settings.end_date,
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": window}
            if window
            else {"mode": "OFF"},
            target={
                "arn": function.function_arn,
                "role_arn": role.arn,
                "input": json.dumps({**(settings.input or {}), "scheduled_time": SCHEDULED_TIME}, sort_keys=True),
                "retry_policy": {
                    "maximum_retry_attempts": settings.retry_attempts,
                    "maximum_event_age_in_seconds": settings.max_event_age_seconds,
                },
                "dead_letter_config": {"arn": dlq.queue_arn},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

        alarm_window = missed_run_alarm_window(settings)
        if alarm_window is not None:
            alarm_period, evaluations = alarm_window
            metric_alarm(
                f"{name}-missed-run",
                AlarmSpec(
                    "AWS/Lambda",
                    "Invocations",
                    {"FunctionName": function.function_name},
                    1,
                    f"No run of {schedule.expression} within {alarm_period * evaluations}s: "
                    "the schedule is not firing or its runs are not reaching the function.",
                    comparison="LessThanThreshold",
                    period_seconds=alarm_period,
                    evaluation_periods=evaluations,
                    treat_missing_data="breaching",
                ),
                topic,
                self,
            )

        self.schedule_name = schedule_resource.name
        self.schedule_arn = schedule_resource.arn
        self.group_name = pulumi.Output.from_input(group_name)
        self.function_name = function.function_name
        self.dlq_url = dlq.queue_url
        self.register_outputs(
            {
                "schedule_name": schedule_resource.name,
                "schedule_arn": schedule_resource.arn,
                "group_name": self.group_name,
                "function_name": function.function_name,
                "dlq_url": dlq.queue_url,
            }
        )
