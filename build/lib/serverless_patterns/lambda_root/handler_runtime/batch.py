"""Batch processing with partial batch responses (``ReportBatchItemFailures``).

Each record is handled alone: a record whose handler raises, or whose body is not JSON, is reported in
``batchItemFailures`` while the rest of the batch succeeds. For SQS the failed message returns to the queue and
reaches the DLQ after ``maxReceiveCount``; for a DynamoDB stream, Lambda retries from the first failed sequence
number. A batch where every record fails is reported the same way (it does not raise), so malformed input never
turns into a function error that retries good records.

A stream has no per-record DLQ, and a failed record holds its shard until it succeeds or ages out. So a stream
record whose handler raises :class:`MalformedMessage` (it can never be processed) is *parked*: sent with its content
to the queue named by ``FAILURE_QUEUE_URL`` (the projection's failure queue) as ``{"condition": "MalformedRecord",
"records": [...], ...}`` and counted as done, so the shard moves on; the redrive tool replays it after a fix. If
parking fails, the record is reported failed and retried: it is never dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler_runtime.errors import MalformedMessage
from handler_runtime.observability import logger
from handler_runtime.records import utc_now

__all__ = [
    "FAILURE_QUEUE_ENV",
    "DynamoDBRecord",
    "SQSRecord",
    "json_body",
    "park_stream_records",
    "process_sqs_batch",
    "process_stream_batch",
]

FAILURE_QUEUE_ENV = "FAILURE_QUEUE_URL"


def json_body(record: SQSRecord) -> dict[str, Any]:
    """The message body as a JSON object (numbers as Decimal, ready for DynamoDB)."""
    try:
        body = json.loads(record.body, parse_float=Decimal)
    except (TypeError, ValueError) as error:
        raise MalformedMessage(f"message {record.message_id} is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise MalformedMessage(f"message {record.message_id} is not a JSON object")
    return body


def _per_record(handler: Callable[[Any], object], correlation: Callable[[Any], str]) -> Callable[[Any], object]:
    def handle(record: Any) -> object:
        logger.set_correlation_id(correlation(record))
        try:
            return handler(record)
        except Exception:
            logger.exception("record failed; reported in batchItemFailures")
            raise
        finally:
            logger.set_correlation_id(None)

    return handle


def process_sqs_batch(
    event: dict[str, Any], context: LambdaContext, record_handler: Callable[[SQSRecord], object]
) -> PartialItemFailureResponse:
    """Run ``record_handler`` on each SQS record; failures are reported by message id."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    handle = _per_record(record_handler, lambda r: r.message_id)
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)


@cache
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def park_stream_records(records: list[dict[str, Any]], error: Exception, function_arn: str) -> bool:
    """Send stream records that can never be processed, with their content, to ``FAILURE_QUEUE_URL``; False when no
    queue is configured (the caller then reports them failed). Raises when the send fails (nothing is dropped)."""
    queue_url = os.environ.get(FAILURE_QUEUE_ENV)
    if not queue_url:
        return False
    envelope = {
        "version": "1.0",
        "condition": "MalformedRecord",
        "functionArn": function_arn,
        "errorMessage": f"{type(error).__name__}: {error}",
        "timestamp": utc_now(),
        "records": records,
    }
    _sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps(envelope, default=str))
    return True


def process_stream_batch(
    event: dict[str, Any], context: LambdaContext, record_handler: Callable[[DynamoDBRecord], object]
) -> PartialItemFailureResponse:
    """Run ``record_handler`` on each DynamoDB stream record; failures are reported by sequence number, malformed
    records are parked (see the module docstring)."""

    def parking(record: DynamoDBRecord) -> object:
        try:
            return record_handler(record)
        except MalformedMessage as malformed:
            if not park_stream_records([record.raw_event], malformed, context.invoked_function_arn):
                raise
            logger.warning("malformed record parked on the failure queue", extra={"error": str(malformed)})
            return None

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    handle = _per_record(parking, lambda r: r.event_id or "")
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
