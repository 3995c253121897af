"""The ScheduledJob component under Pulumi mocks."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, iam_findings, statements

from serverless_patterns import ArgumentError, ScheduledJob, ScheduledJobArgs
from serverless_patterns.internals.settings import resolve
from serverless_patterns.patterns.scheduled_job import ScheduledJobSettings, missed_run_window


def job_args(**overrides: Any) -> ScheduledJobArgs:
    base: dict[str, Any] = {
        "schedule": "rate(5 minutes)",
        "handler_package": "sample",
        "handler": "app.handler",
        "alarm_topic_arn": TOPIC,
        "handlers_root": FIXTURE_HANDLERS,
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def alarms(run) -> dict[str, dict[str, Any]]:
    return {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_defaults(declare):
    run = declare(lambda: ScheduledJob("sweep", job_args()))
    schedule = run.named("sweep", "aws:scheduler/schedule:Schedule").inputs
    assert schedule["name"] == "serverless-orders-test-sweep"
    assert schedule["groupName"] == "serverless-orders-test-sweep"
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["scheduleExpressionTimezone"] == "UTC"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["arn"].endswith(":function:serverless-orders-test-sweep-function")
    assert json.loads(target["input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}
    dlq = "arn:aws:sqs:us-east-1:123456789012:sweep-dlq"
    assert target["deadLetterConfig"] == {"arn": dlq}
    fn = run.named("sweep-function", "aws:lambda/function:Function").inputs
    assert fn["reservedConcurrentExecutions"] == 1
    invoke = run.named("sweep-function-async").inputs
    assert (invoke["maximumRetryAttempts"], invoke["maximumEventAgeInSeconds"]) == (2, 3600)
    assert invoke["destinationConfig"] == {"onFailure": {"destination": dlq}}
    assert run.named("sweep-dlq", "aws:sqs/queue:Queue").inputs["messageRetentionSeconds"] == 14 * 86400
    assert "startDate" not in schedule and "endDate" not in schedule


def test_alarms_tolerate_overlap_throttling_and_watch_for_missed_runs(declare):
    found = alarms(declare(lambda: ScheduledJob("sweep", job_args())))
    assert found["sweep-function-throttles"]["threshold"] == 30
    assert found["sweep-function-errors"]["threshold"] == 1
    assert found["sweep-function-duration"]["extendedStatistic"] == "p99"
    assert found["sweep-dlq-depth"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    missed = found["sweep-missed-run"]
    assert (missed["metricName"], missed["statistic"]) == ("Invocations", "Sum")
    assert (missed["comparisonOperator"], missed["threshold"]) == ("LessThanThreshold", 1)
    assert missed["treatMissingData"] == "breaching"
    assert (missed["period"], missed["evaluationPeriods"]) == (360, 1)  # 5 min + 1 min slack


def test_iam_scope(declare):
    run = declare(lambda: ScheduledJob("sweep", job_args()))
    scheduler = {tuple(s["Action"]): s["Resource"] for s in statements(run.named("sweep-scheduler-policy"))}
    assert scheduler == {
        (
            "lambda:InvokeFunction",
        ): "arn:aws:lambda:us-east-1:123456789012:function:serverless-orders-test-sweep-function",
        ("sqs:SendMessage",): "arn:aws:sqs:us-east-1:123456789012:sweep-dlq",
    }
    trust = statements(run.named("sweep-scheduler-role"), "assumeRolePolicy")[0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    function = {tuple(s["Action"]): s["Resource"] for s in statements(run.named("sweep-function-policy"))}
    assert function[("sqs:SendMessage",)] == "arn:aws:sqs:us-east-1:123456789012:sweep-dlq"
    assert iam_findings(run)[1] == []


def test_overrides(declare):
    run = declare(
        lambda: ScheduledJob(
            "sweep",
            job_args(
                schedule="cron(0 9 ? * MON-FRI *)",
                timezone="Europe/Paris",
                flexible_window_minutes=15,
                start_date="2027-01-01T00:00:00Z",
                end_date="2027-12-31T00:00:00+01:00",
                group_name="existing-group",
                input={"dry_run": True},
                retry_attempts=0,
                max_event_age_seconds=120,
                reserved_concurrency=0,
                async_retry_attempts=0,
                async_max_event_age_seconds=600,
                throttles_alarm_threshold=5,
                timeout_seconds=120,
            ),
        )
    )
    schedule = run.named("sweep", "aws:scheduler/schedule:Schedule").inputs
    assert schedule["groupName"] == "existing-group"
    assert not run.of_type("aws:scheduler/scheduleGroup:ScheduleGroup")
    assert schedule["scheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 15}
    assert (schedule["startDate"], schedule["endDate"]) == ("2027-01-01T00:00:00Z", "2027-12-31T00:00:00+01:00")
    assert json.loads(schedule["target"]["input"]) == {
        "dry_run": True,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    assert schedule["target"]["retryPolicy"] == {"maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 120}
    fn = run.named("sweep-function", "aws:lambda/function:Function").inputs
    assert fn["reservedConcurrentExecutions"] == -1, "0 means no reservation"
    invoke = run.named("sweep-function-async").inputs
    assert (invoke["maximumRetryAttempts"], invoke["maximumEventAgeInSeconds"]) == (0, 600)
    found = alarms(run)
    assert found["sweep-function-throttles"]["threshold"] == 5
    assert "sweep-missed-run" not in found, "weekdays-only cron has no constant period"


@pytest.mark.parametrize(
    ("period", "window", "expected"),
    [
        (60, 0, (120, 1)),
        (300, 0, (360, 1)),
        (300, 10, (960, 1)),
        (3600, 0, (3660, 1)),
        (86400 - 60, 0, (86400, 1)),
        (86400, 0, (3600, 25)),  # over a day: hourly periods, at most 7 days in all
        (7 * 86400 - 3600, 0, (3600, 168)),
        (7 * 86400, 0, None),  # beyond CloudWatch's limit: no missed-run alarm
    ],
)
def test_missed_run_window(period: int, window: int, expected):
    assert missed_run_window(period, window) == expected
    if expected is not None:
        alarm_period, evaluations = expected
        assert alarm_period % 60 == 0
        assert alarm_period * evaluations >= period + window * 60
        assert alarm_period * evaluations <= (86400 if alarm_period < 3600 else 7 * 86400)


def test_daily_cron_gets_a_daily_missed_run_alarm(declare):
    found = alarms(declare(lambda: ScheduledJob("sweep", job_args(schedule="cron(0 3 * * ? *)"))))
    assert (found["sweep-missed-run"]["period"], found["sweep-missed-run"]["evaluationPeriods"]) == (3600, 25)


def test_every_problem_is_reported_at_once(declare):
    bad = job_args(
        schedule="cron(0 12 * * MON *)",
        timezone="Nowhere/City",
        flexible_window_minutes=0,
        start_date="tomorrow",
        end_date="2027-01-01T00:00:00",
        retry_attempts=200,
        max_event_age_seconds=30,
        reserved_concurrency=-1,
        async_retry_attempts=3,
        input={"scheduled_time": "x"},
        retry_atempts=1,
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: ScheduledJob("sweep", bad))
    assert caught.value.problems == [
        "unknown argument 'retry_atempts' (did you mean 'retry_attempts'?)",
        "schedule is not valid: cron: exactly one of day-of-month and day-of-week must be '?'",
        "timezone must be an IANA time zone name such as Europe/Paris, got 'Nowhere/City'",
        "flexible_window_minutes must be between 1 and 1440, got 0",
        "start_date must be an ISO 8601 date and time, got 'tomorrow'",
        "end_date needs a UTC offset (e.g. Z or +01:00), got '2027-01-01T00:00:00'",
        "input may not set scheduled_time: the schedule supplies it",
        "retry_attempts must be between 0 and 185, got 200",
        "max_event_age_seconds must be between 60 and 86400, got 30",
        "reserved_concurrency must be between 0 and 10000, got -1",
        "async_retry_attempts must be between 0 and 2, got 3",
    ]


def test_the_rules_relating_arguments_are_reported_at_once(declare):
    bad = job_args(
        start_date="2027-01-02T00:00:00Z",
        end_date="2027-01-01T00:00:00Z",
        memory_mb=64,
        environment={"IDEMPOTENCY_EXPIRY_SECONDS": "86400"},
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: ScheduledJob("sweep", bad))
    assert caught.value.problems == [
        "end_date must be after start_date",
        "environment IDEMPOTENCY_EXPIRY_SECONDS 86400 is shorter than the 1216800s a run's event can come back "
        "(Scheduler's and Lambda's event ages + the DLQ's 14 days): a re-sent run would apply its effects twice",
        "memory_mb must be between 128 and 10240, got 64",
    ]


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("rate(0 minutes)", "schedule is not valid: rate: the value must be at least 1"),
        ("every 5 minutes", "schedule is not valid: 'every 5 minutes' is not rate(value unit), cron(6 fields) or "),
    ],
)
def test_schedule_expressions_are_checked_before_deploy(declare, schedule: str, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: ScheduledJob("sweep", job_args(schedule=schedule)))
    [found] = caught.value.problems
    assert found.startswith(problem)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({**job_args(), "schedule": None}, "schedule must be a string, got None"),
        ({k: v for k, v in job_args().items() if k != "handler"}, "handler is required"),
        (job_args(schedul="rate(1 hour)"), "unknown argument 'schedul' (did you mean 'schedule'?)"),
        (job_args(grants={"actions": ["sqs:SendMessage"]}), "grants must be a list, got a mapping"),
        (job_args(input=["a"]), "input must be a mapping, got a list"),
        (job_args(retry_attempts="2"), "retry_attempts must be an integer, got '2'"),
        (
            job_args(alarm_topic_arn="alarms"),
            "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: ScheduledJob("sweep", bad))
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    settings = resolve(ScheduledJobSettings, job_args(), "ScheduledJob 'sweep'")
    assert (settings.timezone, settings.flexible_window_minutes, settings.group_name) == ("UTC", None, None)
    assert (settings.retry_attempts, settings.max_event_age_seconds) == (2, 3600)
    assert (settings.async_retry_attempts, settings.async_max_event_age_seconds) == (2, 3600)
    assert (settings.reserved_concurrency, settings.throttles_alarm_threshold) == (1, 30)
    assert (settings.input, settings.grants, settings.environment, settings.memory_mb) == (None, (), None, None)


def test_the_argument_type_names_exactly_the_settings():
    assert set(ScheduledJobArgs.__annotations__) == {f.name for f in dataclasses.fields(ScheduledJobSettings)}


def test_idempotency_records_outlive_every_way_a_run_can_come_back(declare):
    run = declare(lambda: ScheduledJob("sweep", job_args(max_event_age_seconds=7200)))
    fn = run.named("sweep-function", "aws:lambda/function:Function").inputs
    # Scheduler's 2 h of delivery retries + Lambda's 1 h of async retries + a re-send from the 14-day DLQ
    assert fn["environment"]["variables"]["IDEMPOTENCY_EXPIRY_SECONDS"] == str(7200 + 3600 + 14 * 86400)
