"""The local cloud's metrics and alarms through CloudWatch's API: boto3 reads what the engine recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from cloud_helpers import messages, place, publish

from localcloud.engine import LocalCloud

pytestmark = pytest.mark.xdist_group("cloudwatch-metrics")

DLQ_ALARM = "order-events-fulfilment-dlq-depth"


@pytest.fixture(scope="module")
def served() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as cloud:
        yield cloud


def _alarming(cloud: LocalCloud) -> set[str]:
    return {a["AlarmName"] for a in cloud.client("cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]}


def test_every_alarm_of_the_stack_is_in_cloudwatch_with_its_definition(served: LocalCloud):
    cloudwatch = served.client("cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(MaxRecords=100)["MetricAlarms"]}
    assert set(alarms) == {a["name"] for a in served.deployment.alarms}
    duration = next(a for name, a in alarms.items() if name.endswith("-duration"))
    assert duration["ExtendedStatistic"] == "p99" and duration["Namespace"] == "AWS/Lambda"
    assert duration["Dimensions"][0]["Name"] == "FunctionName" and duration["Period"] == 300
    assert duration["AlarmActions"] == duration["OKActions"] == [served.outputs["alarm_topic_arn"]]
    assert duration["TreatMissingData"] == "notBreaching" and duration["AlarmDescription"]
    math = next(a for a in alarms.values() if a.get("Metrics"))
    expression = next(m for m in math["Metrics"] if "Expression" in m)
    assert expression["Expression"].startswith("SUM([") and expression["ReturnData"] is True
    assert all(m["MetricStat"]["Period"] == 300 for m in math["Metrics"] if "MetricStat" in m)
    assert {a["StateValue"] for a in alarms.values()} == {"INSUFFICIENT_DATA"}, "not evaluated yet, as on AWS"


def test_a_poison_message_drives_the_dlq_alarm_to_alarm_and_back(served: LocalCloud):
    served.sync_cloudwatch()
    assert DLQ_ALARM not in _alarming(served)
    publish(served, "{not json")
    served.drain()  # five receives, then the DLQ
    served.sync_cloudwatch()
    assert DLQ_ALARM in _alarming(served)
    alarm = served.client("cloudwatch").describe_alarms(AlarmNames=[DLQ_ALARM])["MetricAlarms"][0]
    assert alarm["StateReason"] == (
        "Threshold Crossed: 1 out of the last 1 datapoints [1] was greater than or equal to the threshold (1) "
        "(minimum 1 datapoint for OK -> ALARM transition)."
    )

    assert messages(served, served.outputs["subscriber_dlq_urls"]["fulfilment"]) == ["{not json"]
    dlq = served.outputs["subscriber_dlq_urls"]["fulfilment"]
    served.client("sqs").purge_queue(QueueUrl=dlq)
    served.advance(minutes=2)  # the breaching depth leaves the alarm's period
    served.sync_cloudwatch()
    assert DLQ_ALARM not in _alarming(served)
    states = served.client("cloudwatch").describe_alarms(AlarmNames=[DLQ_ALARM])["MetricAlarms"]
    assert states[0]["StateValue"] == "OK"
    assert states[0]["StateReason"] == (
        "Threshold Crossed: 0 out of the last 1 datapoints [0] were greater than or equal to the threshold (1), "
        "fewer than the 1 that make it ALARM."
    )


def test_lambda_and_emf_metrics_answer_through_cloudwatch(served: LocalCloud):
    function = served.outputs["place_order_function"]
    start = served.clock.now().astimezone(UTC).replace(microsecond=0)
    served.advance(seconds=1)
    for request in ("metric-1", "metric-2", "metric-3"):
        place(served, request)
    end = served.clock.now() + timedelta(seconds=60)
    served.publish_metrics()
    cloudwatch = served.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": function}]

    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=dims,
        StartTime=start,
        EndTime=end,
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    assert [(p["Sum"], p["SampleCount"], p["Unit"]) for p in statistics] == [(3.0, 3.0, "Count")]

    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations", "Dimensions": dims},
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"]
    assert data[0]["Values"] == [3.0]
    assert start <= data[0]["Timestamps"][0] <= end, "the local clock's time"

    listed = cloudwatch.list_metrics(Namespace="AWS/Lambda", Dimensions=dims)["Metrics"]
    assert {m["MetricName"] for m in listed} == {"Invocations", "Errors", "Duration"}

    emf = cloudwatch.list_metrics(Namespace="serverless-orders", MetricName="OrdersPlaced")["Metrics"]
    assert emf, "the handler's EMF metric"
    identities = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in emf}
    assert len(emf) == len(identities), "each metric once, however many datapoints it has"
    emf_dims = emf[0]["Dimensions"]
    placed = cloudwatch.get_metric_statistics(
        Namespace="serverless-orders",
        MetricName="OrdersPlaced",
        Dimensions=emf_dims,
        StartTime=start,
        EndTime=end,
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    assert [p["Sum"] for p in placed] == [3.0]
    assert placed[0]["Unit"] == "Count"


def test_publishing_twice_copies_each_datapoint_once(served: LocalCloud):
    served.publish_metrics()
    assert served.publish_metrics() == 0
    before = len(served.metrics.points)
    place(served, "once")
    recorded = len(served.metrics.points) - before
    assert recorded >= 3, "Invocations, Errors and Duration at least"
    assert served.publish_metrics() == recorded
    assert served.publish_metrics() == 0


def test_list_metrics_names_a_metric_of_several_dimensions_once(served: LocalCloud):
    for value in (1, 2, 3):
        served.metrics.put("LocalTest", "Paired", {"FunctionName": "f", "service": "s"}, value, unit="Count")
    served.publish_metrics()
    listed = served.client("cloudwatch").list_metrics(Namespace="LocalTest")["Metrics"]
    assert listed == [
        {
            "Namespace": "LocalTest",
            "MetricName": "Paired",
            "Dimensions": [{"Name": "FunctionName", "Value": "f"}, {"Name": "service", "Value": "s"}],
        }
    ]
