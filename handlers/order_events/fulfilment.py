"""fulfilment: OrderPlaced → start the checkout saga, one execution per order.

The execution is named after the order id, so a redelivered OrderPlaced gets ``ExecutionAlreadyExists``,
which is success: nothing starts twice.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from handler_runtime.batch import SQSRecord, process_sqs_batch
from handler_runtime.json_codec import dumps
from handler_runtime.observability import instrumented, logger, metrics, tracer
from order_events.events import parse_order_event

__all__ = ["handler"]


@cache
def _stepfunctions() -> Any:
    return boto3.client("stepfunctions")


@tracer.capture_method
def start_checkout(record: SQSRecord) -> None:
    event = parse_order_event(record)
    if event.event_type != "OrderPlaced":
        logger.warning("ignored: fulfilment only handles OrderPlaced", extra={"event_type": event.event_type})
        return
    client = _stepfunctions()
    try:
        client.start_execution(
            stateMachineArn=os.environ["CHECKOUT_STATE_MACHINE_ARN"],
            name=event.order_id,
            input=dumps(event.checkout_input()),
        )
    except client.exceptions.ExecutionAlreadyExists:
        logger.info("checkout already started", extra={"order_id": event.order_id})
        return
    metrics.add_metric(name="CheckoutsStarted", unit="Count", value=1)
    logger.info("checkout started", extra={"order_id": event.order_id})


@instrumented()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_sqs_batch(event, context, start_checkout))
