"""EventBridge Scheduler expressions — ``rate()``, ``cron()`` and ``at()`` — parsed, validated and evaluated.

The same parser validates a ScheduledJob before deploy and drives the local cloud's clock: ``next_after`` gives
the next fire time after an instant, in the schedule's time zone. Cron follows AWS's six-field syntax
(minutes hours day-of-month month day-of-week year), in which exactly one of the two day fields is ``?``.

>>> parse_schedule("rate(5 minutes)").period_seconds
300
>>> parse_schedule("cron(0 12 * * ? *)").next_after(datetime(2026, 1, 1, 13, tzinfo=UTC)).isoformat()
'2026-01-02T12:00:00+00:00'
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Schedule", "ScheduleError", "parse_schedule", "parse_timezone"]

_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    """The expression is not one EventBridge Scheduler accepts; the message says why."""


def parse_timezone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from error


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]
    any: bool = False  # '*' or '?'
    last: bool = False  # 'L' (last day of month / Saturday... as day-of-week: last <day> of the month)
    weekday_nearest: int | None = None  # 'nW' (day of month)
    last_weekday: bool = False  # 'LW'
    nth: tuple[int, int] | None = None  # day-of-week 'd#n'
    last_dow: int | None = None  # day-of-week 'dL'


def _number(token: str, names: dict[str, int], low: int, high: int, field: str) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise ScheduleError(f"cron {field}: {token!r} is not in {low}-{high}")
    return value


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int] | None = None) -> _Field:
    names = names or {}
    if text in ("*", "?"):
        return _Field(frozenset(range(low, high + 1)), any=True)
    values: set[int] = set()
    for item in text.split(","):
        part, step = item, 1
        if "/" in item:
            part, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"cron {field}: increment {step_text!r} must be a positive number")
            step = int(step_text)
            if part == "*":
                part = str(low)
        if "-" in part:
            start_text, end_text = part.split("-", 1)
            start, end = _number(start_text, names, low, high, field), _number(end_text, names, low, high, field)
            if start > end:
                raise ScheduleError(f"cron {field}: range {part!r} runs backwards")
        else:
            start = _number(part, names, low, high, field)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return _Field(frozenset(values))


def _parse_dom(text: str) -> _Field:
    if text == "L":
        return _Field(frozenset(), last=True)
    if text == "LW":
        return _Field(frozenset(), last_weekday=True)
    if match := re.fullmatch(r"(\d{1,2})W", text):
        day = int(match.group(1))
        if not 1 <= day <= 31:
            raise ScheduleError(f"cron day-of-month: {text!r} is not in 1-31")
        return _Field(frozenset(), weekday_nearest=day)
    return _parse_field(text, "day-of-month", 1, 31)


def _parse_dow(text: str) -> _Field:
    if match := re.fullmatch(r"([1-7A-Za-z]{1,3})#([1-5])", text):
        return _Field(frozenset(), nth=(_number(match.group(1), _DAYS, 1, 7, "day-of-week"), int(match.group(2))))
    if match := re.fullmatch(r"([1-7A-Za-z]{1,3})L", text):
        return _Field(frozenset(), last_dow=_number(match.group(1), _DAYS, 1, 7, "day-of-week"))
    if text == "L":
        return _Field(frozenset({7}))
    return _parse_field(text, "day-of-week", 1, 7, _DAYS)


def _aws_weekday(day: datetime) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday=0 in Python; AWS: SUN=1 ... SAT=7


@dataclass(frozen=True)
class _Cron:
    minutes: _Field
    hours: _Field
    dom: _Field
    months: _Field
    dow: _Field
    years: _Field
    dom_is_any: bool

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months.values or day.year not in self.years.values:
            return False
        if self.dom_is_any:
            return self._dow_matches(day)
        return self._dom_matches(day)

    def _dom_matches(self, day: datetime) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        field = self.dom
        if field.last:
            return day.day == last
        if field.last_weekday:
            target = last
            while datetime(day.year, day.month, target).weekday() >= 5:
                target -= 1
            return day.day == target
        if field.weekday_nearest is not None:
            target = min(field.weekday_nearest, last)
            weekday = datetime(day.year, day.month, target).weekday()
            if weekday == 5:
                target = target - 1 if target > 1 else target + 2
            elif weekday == 6:
                target = target + 1 if target < last else target - 2
            return day.day == target
        return day.day in field.values

    def _dow_matches(self, day: datetime) -> bool:
        field = self.dow
        weekday = _aws_weekday(day)
        if field.nth is not None:
            wanted, nth = field.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == nth
        if field.last_dow is not None:
            return weekday == field.last_dow and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        return weekday in field.values


@dataclass(frozen=True)
class Schedule:
    """A parsed expression; ``kind`` is rate, cron or at."""

    expression: str
    kind: Literal["rate", "cron", "at"]
    timezone: tzinfo
    rate_seconds: int | None = None
    cron: _Cron | None = None
    at: datetime | None = None

    def next_after(self, instant: datetime, start: datetime | None = None) -> datetime | None:
        """The first fire time strictly after ``instant`` (aware datetimes), or None when there is none.

        A rate schedule counts from ``start`` (when the schedule was created or starts), like Scheduler does.
        """
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        if self.kind == "at":
            assert self.at is not None
            return self.at if self.at > instant else None
        if self.kind == "rate":
            assert self.rate_seconds is not None
            origin = start or instant
            if instant < origin:
                return origin
            elapsed = (instant - origin).total_seconds()
            return origin + timedelta(seconds=(int(elapsed // self.rate_seconds) + 1) * self.rate_seconds)
        assert self.cron is not None
        local = instant.astimezone(self.timezone).replace(second=0, microsecond=0)
        day = local.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self.cron.day_matches(day):
                for hour in sorted(self.cron.hours.values):
                    for minute in sorted(self.cron.minutes.values):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate > instant:
                            return candidate.astimezone(UTC)
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None

    @property
    def period_seconds(self) -> int | None:
        """The constant interval between runs, for rate() and regular cron (e.g. every 5 minutes, daily);
        None for irregular cron (weekdays only, several times a day at uneven hours) and at()."""
        if self.kind == "rate":
            return self.rate_seconds
        if self.kind == "at":
            return None
        origin = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, in a year with no time-zone oddities near it
        times = []
        instant = origin
        for _ in range(60):
            following = self.next_after(instant)
            if following is None:
                return None
            times.append(following)
            instant = following
        gaps = {int((b - a).total_seconds()) for a, b in itertools.pairwise(times)}
        return gaps.pop() if len(gaps) == 1 else None


def parse_schedule(expression: str, timezone: str = "UTC") -> Schedule:
    """Parse and validate ``expression``; raises :class:`ScheduleError` naming what is wrong."""
    zone = parse_timezone(timezone)
    text = expression.strip() if isinstance(expression, str) else ""
    if match := re.fullmatch(r"rate\((\S+) (\S+)\)", text):
        value_text, unit = match.groups()
        if not value_text.isdigit():
            raise ScheduleError(f"rate: {value_text!r} is not a whole number")
        value = int(value_text)
        if value == 0:
            raise ScheduleError("rate: the value must be at least 1")
        base = unit[:-1] if unit.endswith("s") else unit
        if base not in _UNITS:
            raise ScheduleError(f"rate: unknown unit {unit!r} (minute(s), hour(s), day(s))")
        if (value == 1) != (unit == base):
            raise ScheduleError(f"rate: write '{value} {base if value == 1 else base + 's'}'")
        return Schedule(expression, "rate", zone, rate_seconds=value * _UNITS[base])
    if match := re.fullmatch(r"cron\((.+)\)", text):
        fields = match.group(1).split()
        if len(fields) != 6:
            raise ScheduleError(
                f"cron takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
            )
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError("cron: exactly one of day-of-month and day-of-week must be '?'")
        cron = _Cron(
            minutes=_parse_field(minutes, "minutes", 0, 59),
            hours=_parse_field(hours, "hours", 0, 23),
            dom=_parse_dom(dom) if dom != "?" else _Field(frozenset(), any=True),
            months=_parse_field(month, "month", 1, 12, _MONTHS),
            dow=_parse_dow(dow) if dow != "?" else _Field(frozenset(), any=True),
            years=_parse_field(year, "year", 1970, 2199),
            dom_is_any=dom == "?",
        )
        return Schedule(expression, "cron", zone, cron=cron)
    if match := re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", text):
        try:
            moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
        except ValueError as error:
            raise ScheduleError(f"at: {match.group(1)!r} is not a valid date and time") from error
        return Schedule(expression, "at", zone, at=moment.astimezone(UTC))
    raise ScheduleError(f"{expression!r} is not rate(value unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)")
