"""Business errors of the checkout saga: Step Functions sees the class name and compensates, never retries."""

from __future__ import annotations

from handler_runtime.errors import BusinessError

__all__ = ["BUSINESS_ERRORS", "OrderAlreadyConfirmed", "OrderNotPending", "OutOfStock", "PaymentDeclined"]


class OutOfStock(BusinessError):
    """A sku lacks the stock the order needs (an unknown sku has none)."""


class OrderNotPending(BusinessError):
    """The order is already final (confirmed, cancelled or expired)."""


class PaymentDeclined(BusinessError):
    """The payment was refused (the example declines totals above the payment limit)."""


class OrderAlreadyConfirmed(Exception):
    """A compensation was asked to undo part of a CONFIRMED order: it refuses (never retried into success, so the
    saga ends in CompensationFailed and alarms). With the pivot rule this cannot happen; the guard makes sure."""


BUSINESS_ERRORS = ("OutOfStock", "OrderNotPending", "PaymentDeclined")
