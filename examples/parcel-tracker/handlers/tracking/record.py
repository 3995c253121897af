"""tracking: each parcel event moves the parcel's record forward (status, location, time of the event).

The update is conditional on the event being newer than what the record holds, so a redelivered or late event
changes nothing: the record only moves forward in time, whatever order the queue delivers in.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.observability import instrumented, logger, metrics, tracer
from tracking.events import parse_parcel_event

__all__ = ["handler"]


@cache
def _parcels() -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ["PARCELS_TABLE"])


@tracer.capture_method
def record_event(record: SQSRecord) -> None:
    event = parse_parcel_event(record)
    parcels = _parcels()
    try:
        parcels.update_item(
            Key={"parcel_id": event.parcel_id},
            UpdateExpression="SET #status = :status, #location = :location, updated_at = :at",
            ConditionExpression="attribute_not_exists(updated_at) OR updated_at < :at",
            ExpressionAttributeNames={"#status": "status", "#location": "location"},
            ExpressionAttributeValues={
                ":status": event.event_type,
                ":location": event.location,
                ":at": event.occurred_at,
            },
        )
    except parcels.meta.client.exceptions.ConditionalCheckFailedException:
        logger.info("not newer than the parcel's record; ignored", extra={"parcel_id": event.parcel_id})
        return
    metrics.add_metric(name="ParcelEventsRecorded", unit="Count", value=1)
    logger.info("parcel moved on", extra={"parcel_id": event.parcel_id, "status": event.event_type})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, record_event))
