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

from checkout.errors import PaymentDeclined
from checkout.state import compensate, parse_checkout, status_change, table
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
    if not compensate(
        checkout.order_id, status_change("PAYMENTS_TABLE", checkout.order_id, "CHARGED", "REFUNDED", "refunded_at")
    ):
        logger.info("nothing to refund", extra={"order_id": checkout.order_id})
        return {"refunded": False}
    metrics.add_metric(name="PaymentsRefunded", unit="Count", value=1)
    return {"refunded": True}
