"""Evaluates the stack's CloudWatch alarms on the metrics the local cloud recorded, as CloudWatch would.

Supports the alarms the components create: a statistic (Sum, Maximum, Minimum, Average, SampleCount) or a
percentile (pNN) over ``period`` x ``evaluation_periods``, ``datapoints_to_alarm``, every ``treat_missing_data``
mode, and metric math of the form ``SUM([m0,m1,...])``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localcloud.telemetry import MetricStore

__all__ = ["AlarmState", "evaluate_alarm"]

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def _reason(state: str, series: list[float | None], breaching: int, needed: int, alarm: dict[str, Any]) -> str:
    """CloudWatch's wording of why an alarm is in ``state``, e.g. "Threshold Crossed: 1 out of the last 1
    datapoints [2] was greater than or equal to the threshold (1) (minimum 1 datapoint for OK -> ALARM
    transition)." Missing periods are shown as ``missing``."""
    values = ", ".join("missing" if v is None else f"{v:g}" for v in series)
    words = _WORDS[alarm["comparisonOperator"]]
    threshold = f"{float(alarm['threshold']):g}"
    if state == "ALARM":
        verb = "was" if breaching == 1 else "were"
        minimum = f"minimum {needed} datapoint{'s' if needed != 1 else ''} for OK -> ALARM transition"
        return (
            f"Threshold Crossed: {breaching} out of the last {len(series)} datapoints [{values}] {verb} {words} "
            f"the threshold ({threshold}) ({minimum})."
        )
    return (
        f"Threshold Crossed: {breaching} out of the last {len(series)} datapoints [{values}] "
        f"{'was' if breaching == 1 else 'were'} {words} the threshold ({threshold}), fewer than the {needed} "
        "that make it ALARM."
    )


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # ALARM, OK or INSUFFICIENT_DATA
    reason: str
    description: str


def _statistic(values: list[float], statistic: str) -> float | None:
    if not values:
        return None
    if statistic == "Sum":
        return sum(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "SampleCount":
        return float(len(values))
    if match := re.fullmatch(r"p(\d+(?:\.\d+)?)", statistic):
        ordered = sorted(values)
        rank = max(0, math.ceil(float(match.group(1)) / 100 * len(ordered)) - 1)
        return ordered[rank]
    raise ValueError(f"unsupported statistic {statistic}")


def _windows(now: datetime, period: int, count: int) -> list[tuple[datetime, datetime]]:
    return [(now - timedelta(seconds=period * (i + 1)), now - timedelta(seconds=period * i)) for i in range(count)]


def _series(alarm: dict[str, Any], store: MetricStore, now: datetime) -> list[float | None] | str:
    """The value per evaluation period, newest first; a string when the alarm cannot be evaluated here."""
    periods = int(alarm.get("evaluationPeriods", 1))
    if "metricQueries" in alarm:
        queries = alarm["metricQueries"]
        expression = next((q for q in queries if q.get("expression")), None)
        match = re.fullmatch(r"SUM\(\[([\w,\s]+)\]\)", (expression or {}).get("expression", ""))
        if expression is None or match is None:
            return "only SUM([...]) metric math is evaluated locally"
        ids = [i.strip() for i in match.group(1).split(",")]
        metrics = {q["id"]: q["metric"] for q in queries if q.get("metric")}
        period = int(metrics[ids[0]].get("period", 60))
        series: list[float | None] = []
        for start, end in _windows(now, period, periods):
            parts = [
                _statistic(
                    store.query(m["namespace"], m["metricName"], dict(m.get("dimensions") or {}), start, end),
                    m.get("stat", "Sum"),
                )
                for m in (metrics[i] for i in ids)
            ]
            present = [p for p in parts if p is not None]
            series.append(sum(present) if present else None)
        return series
    period = int(alarm.get("period", 60))
    statistic = alarm.get("extendedStatistic") or alarm.get("statistic") or "Sum"
    return [
        _statistic(
            store.query(alarm["namespace"], alarm["metricName"], dict(alarm.get("dimensions") or {}), s, e), statistic
        )
        for s, e in _windows(now, period, periods)
    ]


def evaluate_alarm(alarm: dict[str, Any], store: MetricStore, now: datetime) -> AlarmState:
    name, description = alarm["name"], alarm.get("alarmDescription", "")
    series = _series(alarm, store, now)
    if isinstance(series, str):
        return AlarmState(name, "INSUFFICIENT_DATA", series, description)
    threshold = float(alarm["threshold"])
    compare = _COMPARE[alarm["comparisonOperator"]]
    missing = alarm.get("treatMissingData", "missing")
    needed = int(alarm.get("datapointsToAlarm") or alarm.get("evaluationPeriods", 1))
    breaching = evaluated = 0
    for value in series:
        if value is None:
            if missing == "breaching":
                breaching, evaluated = breaching + 1, evaluated + 1
            elif missing == "notBreaching":
                evaluated += 1
            continue
        evaluated += 1
        breaching += compare(value, threshold)
    if breaching >= needed:
        return AlarmState(name, "ALARM", _reason("ALARM", series, breaching, needed, alarm), description)
    if evaluated == 0:
        return AlarmState(name, "INSUFFICIENT_DATA", "no datapoints", description)
    return AlarmState(name, "OK", _reason("OK", series, breaching, needed, alarm), description)
