"""Error classes whose names the orchestration sees (Step Functions matches on the exception class name)."""

from __future__ import annotations

__all__ = ["BusinessError", "MalformedMessage", "TransientError"]


class BusinessError(Exception):
    """A domain refusal (OutOfStock, PaymentDeclined, ...): never retried, it leads to compensation."""


class TransientError(Exception):
    """A failure worth retrying with backoff (a dependency that is briefly unavailable)."""


class MalformedMessage(ValueError):
    """A message that can never be processed: it fails alone and reaches the DLQ after its receives."""
