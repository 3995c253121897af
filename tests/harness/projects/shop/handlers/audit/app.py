"""audit: each order event's id and type, returned in the batch response's log (the tests read the invocation)."""

from __future__ import annotations

from typing import Any

from handler_runtime.batch import SQSRecord, json_body, process_sqs_batch
from handler_runtime.observability import logger


def audit(record: SQSRecord) -> None:
    body = json_body(record)
    logger.info("audited", extra={"order_id": body["order_id"]})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, audit))
