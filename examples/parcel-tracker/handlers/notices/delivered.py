"""notices: one delivery notice per parcel, whatever how often its Delivered event arrives (a conditional put).

The subscription's filter policy lets only Delivered events into this queue; anything else that arrives is
malformed here and goes to the DLQ after its receives.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import SQSRecord, json_body, process_sqs_batch
from handler_runtime.errors import MalformedMessage
from handler_runtime.observability import instrumented, logger, metrics, tracer
from handler_runtime.records import put_once, utc_now
from handler_runtime.validation import FieldReader, ValidationFailed

__all__ = ["handler"]


@cache
def _notices() -> Any:
    dynamodb: Any = boto3.resource("dynamodb")
    return dynamodb.Table(os.environ["NOTICES_TABLE"])


def _delivered(record: SQSRecord) -> tuple[str, str]:
    reader = FieldReader(json_body(record))
    parcel_id = reader.string("parcel_id", pattern=r"[A-Za-z0-9_-]{1,64}")
    location = reader.string("location")
    if reader.data.get("event_type") != "Delivered":
        reader.fail("event_type", "must be Delivered")
    try:
        reader.raise_if_invalid()
    except ValidationFailed as invalid:
        raise MalformedMessage(f"message {record.message_id} is not a delivery: {invalid}") from invalid
    assert parcel_id and location
    return parcel_id, location


@tracer.capture_method
def send_notice(record: SQSRecord) -> None:
    parcel_id, location = _delivered(record)
    notice = {
        "notice_id": f"{parcel_id}#delivered",
        "parcel_id": parcel_id,
        "text": f"Your parcel {parcel_id} was delivered ({location}).",
        "sent_at": utc_now(),
    }
    if put_once(_notices(), notice, "notice_id"):
        metrics.add_metric(name="DeliveryNotices", unit="Count", value=1)
        logger.info("delivery notice sent", extra={"parcel_id": parcel_id})
    else:
        logger.info("delivery notice already sent", extra={"parcel_id": parcel_id})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, send_notice))
