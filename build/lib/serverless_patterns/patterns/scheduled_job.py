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
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import Function, FunctionArgs, component_function_args, function_problems
from serverless_patterns.blocks.queue import DLQ_RETENTION_SECONDS, IDEMPOTENCY_EXPIRY_ENV, FailureQueue
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.iam import Grant, grant, policy_document
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.roles import service_role
from serverless_patterns.internals.runtime import current_account
from serverless_patterns.internals.schedule_expression import Schedule, ScheduleError, parse_schedule
from serverless_patterns.internals.validation import Problems

__all__ = ["ScheduledJob", "ScheduledJobArgs", "missed_run_window"]

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
DEFAULT_THROTTLES_THRESHOLD = 30
HOUR, DAY = 3600, 86400
DEFAULT_MAX_EVENT_AGE_SECONDS = HOUR  # both Scheduler's delivery window and Lambda's async event age


class ScheduledJobArgs(TypedDict):
    schedule: str  # rate(...), cron(...) or at(...)
    handler_package: str
    handler: str
    alarm_topic_arn: pulumi.Input[str]
    timezone: NotRequired[str]  # [UTC] IANA name
    flexible_window_minutes: NotRequired[int]  # [0: off] 1..1440
    start_date: NotRequired[str]  # ISO 8601 with offset
    end_date: NotRequired[str]
    group_name: NotRequired[str]  # [a group of its own]
    input: NotRequired[dict[str, Any]]  # extra JSON fields; scheduled_time is always added
    retry_attempts: NotRequired[int]  # [2] 0..185: Scheduler's delivery retries
    max_event_age_seconds: NotRequired[int]  # [3600] 60..86400: Scheduler's delivery window
    reserved_concurrency: NotRequired[int]  # [1] 0 = no reservation (accounts with a low quota)
    async_retry_attempts: NotRequired[int]  # [2] 0..2: Lambda's retries of a failed run
    async_max_event_age_seconds: NotRequired[int]  # [3600] 60..21600
    throttles_alarm_threshold: NotRequired[int]  # [30] per 5 minutes
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


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


def redelivery_window(args: ScheduledJobArgs) -> int:
    """How long after its scheduled time a run's event can still reach the function: Scheduler's and Lambda's
    retries up to their maximum event ages, then a hand re-send from the DLQ within its 14 days."""
    return (
        args.get("max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS)
        + args.get("async_max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS)
        + DLQ_RETENTION_SECONDS
    )


def _function_args(args: ScheduledJobArgs) -> FunctionArgs:
    return component_function_args(args, args, {IDEMPOTENCY_EXPIRY_ENV: str(redelivery_window(args))})


def _date_problem(field: str, value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"{field} {value!r} is not an ISO 8601 date and time"
    return None if parsed.tzinfo is not None else f"{field} {value!r} needs a UTC offset (e.g. Z or +01:00)"


def scheduled_job_problems(args: ScheduledJobArgs) -> tuple[list[str], Schedule | None]:
    p = Problems("scheduled job")
    schedule: Schedule | None = None
    try:
        schedule = parse_schedule(args.get("schedule", ""), args.get("timezone", "UTC"))
    except ScheduleError as error:
        p.add(f"schedule: {error}")
    if "flexible_window_minutes" in args:
        p.int_range("flexible_window_minutes", args["flexible_window_minutes"], 1, 1440)
    for field in ("start_date", "end_date"):
        if field in args and (problem := _date_problem(field, args[field])):  # type: ignore[literal-required]
            p.add(problem)
    if "start_date" in args and "end_date" in args and not p.items:
        p.check(
            datetime.fromisoformat(args["end_date"]) > datetime.fromisoformat(args["start_date"]),
            "end_date must be after start_date",
        )
    p.int_range("retry_attempts", args.get("retry_attempts", 2), 0, 185)
    p.int_range("max_event_age_seconds", args.get("max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS), 60, 86400)
    p.int_range("reserved_concurrency", args.get("reserved_concurrency", 1), 0, 10000)
    p.int_range("async_retry_attempts", args.get("async_retry_attempts", 2), 0, 2)
    p.int_range(
        "async_max_event_age_seconds", args.get("async_max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS), 60, 21600
    )
    p.int_range(
        "throttles_alarm_threshold", args.get("throttles_alarm_threshold", DEFAULT_THROTTLES_THRESHOLD), 1, 1_000_000
    )
    extra = args.get("input", {})
    p.check(isinstance(extra, dict), "input must be a JSON object")
    if isinstance(extra, dict):
        p.check("scheduled_time" not in extra, "input may not set scheduled_time: the schedule supplies it")
        try:
            json.dumps(extra)
        except (TypeError, ValueError):
            p.add("input must be JSON-serialisable")
    function = _function_args(args)
    function.pop("reserved_concurrency", None)
    p.extend(function_problems("job", function))
    return p.items, schedule


class ScheduledJob(pulumi.ComponentResource):
    """A scheduled Lambda. See :class:`ScheduledJobArgs`."""

    schedule_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]
    group_name: pulumi.Output[str]
    function_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduledJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:ScheduledJob", name, None, opts)
        problems = Problems(f"ScheduledJob {name!r}")
        found, schedule = scheduled_job_problems(args)
        problems.extend(found)
        problems.raise_if_any()
        assert schedule is not None
        child = pulumi.ResourceOptions(parent=self)
        topic = args["alarm_topic_arn"]

        dlq = FailureQueue(f"{name}-dlq", {"alarm_topic_arn": topic}, opts=child)
        function_args = _function_args(args)
        reserved = args.get("reserved_concurrency", 1)
        if reserved:
            function_args["reserved_concurrency"] = reserved
        else:
            function_args.pop("reserved_concurrency", None)
        function_args["async_config"] = {
            "max_retry_attempts": args.get("async_retry_attempts", 2),
            "max_event_age_seconds": args.get("async_max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS),
            "on_failure_queue_arn": dlq.queue_arn,
        }
        function_args["alarms"] = {
            "throttles_threshold": args.get("throttles_alarm_threshold", DEFAULT_THROTTLES_THRESHOLD)
        }
        function = Function(f"{name}-function", function_args, opts=child)

        if "group_name" in args:
            group_name: pulumi.Input[str] = args["group_name"]
        else:
            group = aws.scheduler.ScheduleGroup(f"{name}-group", name=physical_name(name), opts=child)
            group_name = group.name

        account = current_account(self)
        role = service_role(
            f"{name}-scheduler-role",
            "scheduler.amazonaws.com",
            f"EventBridge Scheduler role of the {name} job",
            self,
            source_account=account,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=role.id,
            policy=policy_document(
                [grant(["lambda:InvokeFunction"], [function.function_arn]), grant(["sqs:SendMessage"], [dlq.queue_arn])]
            ),
            opts=child,
        )
        window = args.get("flexible_window_minutes")
        schedule_resource = aws.scheduler.Schedule(
            name,
            name=physical_name(name),
            group_name=group_name,
            schedule_expression=schedule.expression,
            schedule_expression_timezone=args.get("timezone", "UTC"),
            start_date=args.get("start_date"),
            end_date=args.get("end_date"),
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": window}
            if window
            else {"mode": "OFF"},
            target={
                "arn": function.function_arn,
                "role_arn": role.arn,
                "input": json.dumps({**args.get("input", {}), "scheduled_time": SCHEDULED_TIME}, sort_keys=True),
                "retry_policy": {
                    "maximum_retry_attempts": args.get("retry_attempts", 2),
                    "maximum_event_age_in_seconds": args.get("max_event_age_seconds", DEFAULT_MAX_EVENT_AGE_SECONDS),
                },
                "dead_letter_config": {"arn": dlq.queue_arn},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

        period = schedule.period_seconds
        alarm_window = missed_run_window(period, window or 0) if period is not None else None
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
