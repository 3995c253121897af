"""Batch processing with partial batch responses (``ReportBatchItemFailures``).

Each record is handled alone: a record whose handler raises, or whose body is not JSON, is reported in
``batchItemFailures`` while the rest of the batch succeeds. For SQS the failed message returns to the queue and
reaches the DLQ after ``maxReceiveCount``; for a DynamoDB stream, Lambda retries from the first failed sequence
number. A batch where every record fails is reported the same way (it does not raise), so malformed input never
turns into a function error that retries good records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler_runtime.errors import MalformedMessage
from handler_runtime.observability import logger

__all__ = ["DynamoDBRecord", "SQSRecord", "json_body", "process_sqs_batch", "process_stream_batch"]


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


def process_stream_batch(
    event: dict[str, Any], context: LambdaContext, record_handler: Callable[[DynamoDBRecord], object]
) -> PartialItemFailureResponse:
    """Run ``record_handler`` on each DynamoDB stream record; failures are reported by sequence number."""
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    handle = _per_record(record_handler, lambda r: r.event_id or "")
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
