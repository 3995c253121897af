"""The schedule expression parser: validation and next fire times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from serverless_patterns.internals.schedule_expression import ScheduleError, parse_schedule

NOW = datetime(2026, 11, 25, 10, 3, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expression", "period", "next_fire"),
    [
        ("rate(1 minute)", 60, "2026-11-25T10:04:00+00:00"),
        ("rate(5 minutes)", 300, "2026-11-25T10:08:00+00:00"),
        ("rate(2 hours)", 7200, "2026-11-25T12:03:00+00:00"),
        ("rate(1 day)", 86400, "2026-11-26T10:03:00+00:00"),
        ("cron(0/5 * * * ? *)", 300, "2026-11-25T10:05:00+00:00"),
        ("cron(*/15 * * * ? *)", 900, "2026-11-25T10:15:00+00:00"),
        ("cron(0 12 * * ? *)", 86400, "2026-11-25T12:00:00+00:00"),
        ("cron(30 9 ? * MON-FRI *)", None, "2026-11-26T09:30:00+00:00"),
        ("cron(0 8,20 * * ? *)", 43200, "2026-11-25T20:00:00+00:00"),  # twice a day, 12 h apart: regular
        ("cron(0 8,18 * * ? *)", None, "2026-11-25T18:00:00+00:00"),
        ("cron(0 0 1 JAN-JUN ? *)", None, "2027-01-01T00:00:00+00:00"),
        ("cron(0 0 L * ? *)", None, "2026-11-30T00:00:00+00:00"),
        ("cron(0 0 ? * 6L *)", None, "2026-11-27T00:00:00+00:00"),
        ("cron(0 0 ? * 2#1 *)", None, "2026-12-07T00:00:00+00:00"),
        ("cron(0 0 15W * ? *)", None, "2026-12-15T00:00:00+00:00"),
        ("at(2026-12-01T09:00:00)", None, "2026-12-01T09:00:00+00:00"),
    ],
)
def test_valid_expressions(expression: str, period: int | None, next_fire: str):
    schedule = parse_schedule(expression)
    assert schedule.period_seconds == period
    fire = schedule.next_after(NOW, start=datetime(2026, 11, 25, 10, 3, tzinfo=UTC))
    assert fire is not None and fire.isoformat() == next_fire


def test_timezone_shifts_cron():
    schedule = parse_schedule("cron(0 9 * * ? *)", "Europe/Paris")
    assert schedule.next_after(NOW).isoformat() == "2026-11-26T08:00:00+00:00"  # 09:00 in Paris (UTC+1)


def test_at_in_the_past_never_fires_again():
    assert parse_schedule("at(2026-01-01T00:00:00)").next_after(NOW) is None


def test_successive_fires_of_a_rate_follow_its_start():
    schedule = parse_schedule("rate(5 minutes)")
    start = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    fires, instant = [], start
    for _ in range(3):
        instant = schedule.next_after(instant, start=start)
        fires.append(instant.strftime("%H:%M"))
    assert fires == ["10:05", "10:10", "10:15"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(0 minutes)", "the value must be at least 1"),
        ("rate(-5 minutes)", "is not a whole number"),
        ("rate(1 minutes)", "write '1 minute'"),
        ("rate(5 minute)", "write '5 minutes'"),
        ("rate(5 weeks)", "unknown unit 'weeks'"),
        ("cron(0 12 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 12 * *)", "cron takes 6 fields"),
        ("cron(60 * * * ? *)", "cron minutes: '60' is not in 0-59"),
        ("cron(0 24 * * ? *)", "cron hours: '24' is not in 0-23"),
        ("cron(0 0 * FOO ? *)", "cron month: 'FOO' is not in 1-12"),
        ("cron(0/0 * * * ? *)", "increment '0' must be a positive number"),
        ("cron(0 5-2 * * ? *)", "runs backwards"),
        ("at(2026-02-30T00:00:00)", "is not a valid date and time"),
        ("every 5 minutes", "is not rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)"),
    ],
)
def test_invalid_expressions(expression: str, message: str):
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse_schedule(expression)


def test_unknown_timezone():
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        parse_schedule("rate(5 minutes)", "Mars/Olympus")
