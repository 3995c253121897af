"""charge-payment and refund-payment, both idempotent on the order id.

The example's payment provider declines totals above ``PAYMENT_LIMIT``. A charge is a conditional put (a retried
charge finds its payment); a refund moves CHARGED → REFUNDED once and does nothing when nothing was charged. The
refund is a transaction that also checks the order is not CONFIRMED: a compensation never refunds a confirmed
order.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from checkout.errors import OrderAlreadyConfirmed, PaymentDeclined
from checkout.state import cancellation_codes, dynamodb, not_confirmed_check, parse_checkout, table
from handler_runtime.errors import raise_transient_aws_errors
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.records import put_once, utc_now

__all__ = ["charge", "refund"]


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def charge(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checkout = parse_checkout(event)
    limit = Decimal(os.environ.get("PAYMENT_LIMIT", "1000"))
    if checkout.total > limit:
        metrics.add_metric(name="PaymentsDeclined", unit="Count", value=1)
        raise PaymentDeclined(f"total {checkout.total} is above the limit {limit}")
    payment = {"order_id": checkout.order_id, "amount": checkout.total, "status": "CHARGED", "charged_at": utc_now()}
    if put_once(table("PAYMENTS_TABLE"), payment, "order_id"):
        metrics.add_metric(name="PaymentsCharged", unit="Count", value=1)
    else:
        logger.info("already charged", extra={"order_id": checkout.order_id})
    return {"charged": True, "amount": float(checkout.total)}


@instrumented(correlation_id_path="order_id")
@raise_transient_aws_errors
def refund(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checkout = parse_checkout(event)
    client = dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                not_confirmed_check(checkout.order_id),
                {
                    "Update": {
                        "TableName": os.environ["PAYMENTS_TABLE"],
                        "Key": {"order_id": {"S": checkout.order_id}},
                        "UpdateExpression": "SET #s = :refunded, refunded_at = :now",
                        "ConditionExpression": "#s = :charged",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":refunded": {"S": "REFUNDED"},
                            ":charged": {"S": "CHARGED"},
                            ":now": {"S": utc_now()},
                        },
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException as cancelled:
        codes = cancellation_codes(cancelled)
        if codes[0] == "ConditionalCheckFailed":
            raise OrderAlreadyConfirmed(
                f"order {checkout.order_id} is CONFIRMED: its payment is never refunded"
            ) from cancelled
        if codes[1] == "ConditionalCheckFailed":
            logger.info("nothing to refund", extra={"order_id": checkout.order_id})
            return {"refunded": False}
        raise
    metrics.add_metric(name="PaymentsRefunded", unit="Count", value=1)
    return {"refunded": True}
