"""The local cloud's metrics and alarm states in moto's CloudWatch, so its API answers as AWS's would.

The engine records datapoints in its own :class:`~localcloud.telemetry.MetricStore` and evaluates the alarms
there (moto never evaluates alarms). :class:`CloudWatchSync` copies what is new into moto: datapoints, written
into the CloudWatch backend's model directly (thousands per second through boto3 would cost more than the
invocations that made them), and alarm states, set only when one changes. :func:`alarm_request` translates a
Pulumi ``MetricAlarm``'s inputs into ``PutMetricAlarm``'s parameters. :func:`metrics_listed_once` makes
``ListMetrics`` name each metric once (moto repeats a metric of several dimensions for each of its datapoints).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from localcloud.alarm_evaluator import AlarmState
from localcloud.telemetry import MetricStore

__all__ = ["CloudWatchSync", "alarm_request", "metrics_listed_once"]

_ALARM_FIELDS = (
    ("namespace", "Namespace"),
    ("metricName", "MetricName"),
    ("statistic", "Statistic"),
    ("extendedStatistic", "ExtendedStatistic"),
    ("period", "Period"),
    ("unit", "Unit"),
    ("evaluationPeriods", "EvaluationPeriods"),
    ("datapointsToAlarm", "DatapointsToAlarm"),
    ("threshold", "Threshold"),
    ("comparisonOperator", "ComparisonOperator"),
    ("treatMissingData", "TreatMissingData"),
    ("alarmDescription", "AlarmDescription"),
    ("actionsEnabled", "ActionsEnabled"),
    ("alarmActions", "AlarmActions"),
    ("okActions", "OKActions"),
    ("insufficientDataActions", "InsufficientDataActions"),
)
_INTEGERS = {"Period", "EvaluationPeriods", "DatapointsToAlarm"}


def _dimensions(dimensions: dict[str, Any] | None) -> list[dict[str, str]]:
    return [{"Name": k, "Value": str(v)} for k, v in sorted((dimensions or {}).items())]


def _query(query: dict[str, Any]) -> dict[str, Any]:
    translated: dict[str, Any] = {"Id": query["id"], "ReturnData": bool(query.get("returnData", False))}
    if query.get("expression"):
        translated["Expression"] = query["expression"]
    if query.get("label"):
        translated["Label"] = query["label"]
    metric = query.get("metric")
    if metric:
        translated["MetricStat"] = {
            "Metric": {
                "Namespace": metric["namespace"],
                "MetricName": metric["metricName"],
                "Dimensions": _dimensions(metric.get("dimensions")),
            },
            "Period": int(metric.get("period", 60)),
            "Stat": metric.get("stat", "Sum"),
            **({"Unit": metric["unit"]} if metric.get("unit") else {}),
        }
    return translated


def alarm_request(alarm: dict[str, Any]) -> dict[str, Any]:
    """``PutMetricAlarm``'s parameters for an alarm recorded from Pulumi's inputs (``name`` plus the inputs)."""
    request: dict[str, Any] = {"AlarmName": alarm["name"]}
    for source, target in _ALARM_FIELDS:
        value = alarm.get(source)
        if value is None or value == []:
            continue
        request[target] = int(value) if target in _INTEGERS else float(value) if target == "Threshold" else value
    if alarm.get("dimensions"):
        request["Dimensions"] = _dimensions(alarm["dimensions"])
    if alarm.get("metricQueries"):
        request["Metrics"] = [_query(q) for q in alarm["metricQueries"]]
    return request


@dataclass
class CloudWatchSync:
    """What of the engine's metrics and alarm states moto's CloudWatch already has (plain state, so it can be
    saved with the engine): the number of datapoints published and the state last set on each alarm."""

    account: str
    region: str
    published: int = 0
    states: dict[str, str] = field(default_factory=dict)

    def _backend(self) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[self.account][self.region]

    def publish(self, store: MetricStore) -> int:
        """Copy the datapoints recorded since the last call into CloudWatch; returns how many."""
        from moto.cloudwatch.models import MetricDatum

        points = store.since(self.published)
        self._backend().metric_data.extend(
            MetricDatum(
                p.namespace,
                p.name,
                p.value,
                [{"Name": k, "Value": v} for k, v in p.dimensions],
                p.timestamp.astimezone(UTC).replace(tzinfo=None),  # moto keeps naive UTC
                p.unit,
            )
            for p in points
        )
        self.published += len(points)
        return len(points)

    def start(self, alarms: list[str]) -> None:
        """New alarms have no data yet: INSUFFICIENT_DATA, as on AWS (moto starts them as OK)."""
        backend = self._backend()
        for name in alarms:
            backend.alarms[name].update_state("Unchecked: Initial alarm creation", "{}", "INSUFFICIENT_DATA")
            self.states[name] = "INSUFFICIENT_DATA"

    def push_states(self, states: list[AlarmState]) -> int:
        """Set each alarm whose evaluated state changed to that state, with its reason; returns how many."""
        backend = self._backend()
        changed = 0
        for state in states:
            if self.states.get(state.name) == state.state or state.name not in backend.alarms:
                continue
            backend.set_alarm_state(state.name, state.reason, json.dumps({"evaluatedBy": "localcloud"}), state.state)
            self.states[state.name] = state.state
            changed += 1
        return changed


@contextlib.contextmanager
def metrics_listed_once() -> Iterator[None]:
    """While active, moto's ListMetrics names each metric (namespace, name and dimensions) once, in one pass over
    the datapoints: moto compares dimensions pairwise, so a metric of two or more dimensions came back once per
    datapoint, and the comparison made listing quadratic in the datapoints."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.get_filtered_metrics

    def once(backend: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]) -> list[Any]:
        seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        found: list[Any] = []
        for datum in backend.get_all_metrics():
            if not datum.filter(namespace=namespace, name=metric_name, dimensions=dimensions):
                continue
            identity = (datum.namespace, datum.name, tuple(sorted((d.name, d.value) for d in datum.dimensions)))
            if identity not in seen:
                seen.add(identity)
                found.append(datum)
        return found

    CloudWatchBackend.get_filtered_metrics = once  # type: ignore[method-assign]
    try:
        yield
    finally:
        CloudWatchBackend.get_filtered_metrics = original  # type: ignore[method-assign]
