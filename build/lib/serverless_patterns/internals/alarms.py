"""The one alarm factory: every alarm in the stack is built here and notifies the stack's alarm topic.

Thresholds are typed values passed by the blocks (not numbers scattered in components); ``treat_missing_data``
defaults to ``notBreaching`` so an idle resource is healthy, and a missed-run alarm opts into ``breaching``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

__all__ = ["MAX_ALARM_METRICS", "AlarmSpec", "MathAlarmSpec", "MathMetric", "math_alarm", "metric_alarm"]

Comparison = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
MissingData = Literal["notBreaching", "breaching", "ignore", "missing"]


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch metric alarm: what it watches and when it fires."""

    namespace: str
    metric_name: str
    dimensions: dict[str, pulumi.Input[str]]
    threshold: float
    description: str
    statistic: str | None = "Sum"
    extended_statistic: str | None = None
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    period_seconds: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: MissingData = "notBreaching"


def metric_alarm(
    resource_name: str, spec: AlarmSpec, alarm_topic_arn: pulumi.Input[str], parent: pulumi.Resource
) -> aws.cloudwatch.MetricAlarm:
    """Create the alarm for ``spec``; alarm and OK transitions both notify ``alarm_topic_arn``."""
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        namespace=spec.namespace,
        metric_name=spec.metric_name,
        dimensions=spec.dimensions,
        statistic=spec.statistic if spec.extended_statistic is None else None,
        extended_statistic=spec.extended_statistic,
        threshold=spec.threshold,
        comparison_operator=spec.comparison,
        period=spec.period_seconds,
        evaluation_periods=spec.evaluation_periods,
        datapoints_to_alarm=spec.datapoints_to_alarm,
        treat_missing_data=spec.treat_missing_data,
        alarm_description=spec.description,
        alarm_actions=[alarm_topic_arn],
        ok_actions=[alarm_topic_arn],
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class MathMetric:
    """One metric inside a metric-math alarm."""

    id: str
    namespace: str
    metric_name: str
    dimensions: dict[str, pulumi.Input[str]]
    stat: str = "Sum"


@dataclass(frozen=True)
class MathAlarmSpec:
    """An alarm on a metric-math expression over up to 10 metrics (CloudWatch's limit for alarms)."""

    metrics: list[MathMetric]
    expression: str
    label: str
    threshold: float
    description: str
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    period_seconds: int = 60
    evaluation_periods: int = 1
    treat_missing_data: MissingData = "notBreaching"


MAX_ALARM_METRICS = 10


def math_alarm(
    resource_name: str, spec: MathAlarmSpec, alarm_topic_arn: pulumi.Input[str], parent: pulumi.Resource
) -> aws.cloudwatch.MetricAlarm:
    """Create the metric-math alarm for ``spec``; alarm and OK transitions notify ``alarm_topic_arn``."""
    if not 0 < len(spec.metrics) <= MAX_ALARM_METRICS:
        raise ValueError(f"{resource_name}: a metric-math alarm takes 1 to {MAX_ALARM_METRICS} metrics")
    queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgsDict] = [
        {
            "id": m.id,
            "return_data": False,
            "metric": {
                "namespace": m.namespace,
                "metric_name": m.metric_name,
                "dimensions": m.dimensions,
                "stat": m.stat,
                "period": spec.period_seconds,
            },
        }
        for m in spec.metrics
    ]
    queries.append({"id": "total", "expression": spec.expression, "label": spec.label, "return_data": True})
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        metric_queries=queries,
        threshold=spec.threshold,
        comparison_operator=spec.comparison,
        evaluation_periods=spec.evaluation_periods,
        treat_missing_data=spec.treat_missing_data,
        alarm_description=spec.description,
        alarm_actions=[alarm_topic_arn],
        ok_actions=[alarm_topic_arn],
        opts=pulumi.ResourceOptions(parent=parent),
    )
