"""The parcel tracker end to end in the local cloud: events through both subscribers, then the daily job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from localcloud.engine import LocalCloud
from serverless_patterns.testing import StartLocalCloud

MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def rows(cloud: LocalCloud, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, as Python values."""
    deserializer = TypeDeserializer()
    items = cloud.client("dynamodb").scan(TableName=table)["Items"]
    return [{key: deserializer.deserialize(value) for key, value in item.items()} for item in items]


def publish(cloud: LocalCloud, parcel_id: str, event_type: str, location: str, at: datetime) -> None:
    event = {"parcel_id": parcel_id, "event_type": event_type, "location": location, "occurred_at": at.isoformat()}
    cloud.client("sns").publish(
        TopicArn=cloud.outputs["parcel_events_topic_arn"],
        Message=json.dumps(event),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
    )


def test_parcel_events_reach_both_subscribers_and_the_job_reports_stale_parcels(local_cloud: StartLocalCloud) -> None:
    cloud = local_cloud("dev", start_at=MONDAY_9AM)

    publish(cloud, "p-1", "PickedUp", "Leeds depot", MONDAY_9AM)
    publish(cloud, "p-1", "Delivered", "12 Mill Lane", MONDAY_9AM + timedelta(hours=3))
    publish(cloud, "p-2", "PickedUp", "York depot", MONDAY_9AM)
    cloud.drain()

    parcels = {row["parcel_id"]: row["status"] for row in rows(cloud, cloud.outputs["parcels_table"])}
    assert parcels == {"p-1": "Delivered", "p-2": "PickedUp"}  # tracking saw every event
    notices = [row["notice_id"] for row in rows(cloud, cloud.outputs["notices_table"])]
    assert notices == ["p-1#delivered"]  # notices saw only Delivered (its filter policy)

    cloud.advance(minutes=2 * 24 * 60)  # Tuesday and Wednesday at 06:00: two runs of the daily job
    cloud.drain()

    reports = {row["report_id"]: row["stale_parcels"] for row in rows(cloud, cloud.outputs["reports_table"])}
    assert reports == {
        "2026-03-03T06:00:00.000Z": [],  # p-2's last event is 21 hours old: not stale yet
        "2026-03-04T06:00:00.000Z": ["p-2"],  # 45 hours, over the dev stack's 24; p-1 was delivered
    }
