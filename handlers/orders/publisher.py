"""order-events publisher: stream transitions → domain events on the FanOut topic.

INSERT gives OrderPlaced; PENDING → CONFIRMED/CANCELLED/EXPIRED gives the matching event. Events go out with
PublishBatch, 10 per call; an entry SNS rejects or a call that fails is reported by sequence number, so Lambda
retries from the first failure — for up to the mapping's record age (6 h by default), so an SNS outage that long
loses nothing, and what still fails goes to the failure queue to be replayed (subscribers are idempotent, so
events published again do nothing twice). A record that can never become an event (a malformed order) is parked
on the failure queue with its content instead of holding the shard.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from handler_runtime.batch import DynamoDBRecord, park_stream_records
from handler_runtime.errors import MalformedMessage
from handler_runtime.json_codec import dumps
from handler_runtime.observability import instrumented, logger, metrics
from orders.model import Transition, transition_of

__all__ = ["BATCH_LIMIT", "domain_event", "handler"]

BATCH_LIMIT = 10  # SNS PublishBatch takes at most 10 entries


@cache
def _sns() -> Any:
    return boto3.client("sns")


def domain_event(transition: Transition) -> dict[str, Any]:
    order = transition.order
    return {
        "event_type": transition.event_type,
        "order_id": transition.order_id,
        "customer_id": order["customer_id"],
        "total": order["total"],
        "items": order.get("items", []),
        "status": order["status"],
        "reason": order.get("reason"),
        "occurred_at": order.get("updated_at") or order.get("created_at"),
    }


def _publish(entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Publish (sequence number, event) pairs; returns the sequence numbers that failed."""
    failed: list[str] = []
    for start in range(0, len(entries), BATCH_LIMIT):
        chunk = entries[start : start + BATCH_LIMIT]
        request = [
            {
                "Id": f"e{i}",
                "Message": dumps(event),
                "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event["event_type"]}},
            }
            for i, (_, event) in enumerate(chunk)
        ]
        try:
            response = _sns().publish_batch(
                TopicArn=os.environ["ORDER_EVENTS_TOPIC_ARN"], PublishBatchRequestEntries=request
            )
        except (BotoCoreError, ClientError):
            logger.exception("PublishBatch failed", extra={"entries": len(chunk)})
            failed.extend(sequence for sequence, _ in chunk)
            continue
        for failure in response.get("Failed", []):
            index = int(failure["Id"][1:])
            logger.error(
                "event rejected", extra={"error_code": failure.get("Code"), "error_message": failure.get("Message")}
            )
            failed.append(chunk[index][0])
        metrics.add_metric(name="EventsPublished", unit="Count", value=len(response.get("Successful", [])))
    return failed


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    entries: list[tuple[str, dict[str, Any]]] = []
    failed: list[str] = []
    for raw in event.get("Records", []):
        record = DynamoDBRecord(raw)
        sequence = record.dynamodb.sequence_number if record.dynamodb is not None else None
        try:
            transition = transition_of(record)
            if transition is not None:
                entries.append((str(sequence), domain_event(transition)))
        except MalformedMessage as malformed:
            try:
                if park_stream_records([raw], malformed, context.invoked_function_arn):
                    logger.warning("malformed record parked", extra={"sequence_number": sequence})
                    continue
            except (BotoCoreError, ClientError):
                logger.exception("parking failed; the record is retried", extra={"sequence_number": sequence})
            failed.append(str(sequence))
        except Exception:
            logger.exception("record is not an order transition", extra={"sequence_number": sequence})
            failed.append(str(sequence))
    failed.extend(_publish(entries))
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}
