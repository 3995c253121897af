"""Error classes whose names the orchestration sees (Step Functions matches on the exception class name)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "RETRYABLE_AWS_CODES",
    "BusinessError",
    "MalformedMessage",
    "TransientError",
    "raise_transient_aws_errors",
]

Handler = TypeVar("Handler", bound=Callable[..., Any])


class BusinessError(Exception):
    """A domain refusal (OutOfStock, PaymentDeclined, ...): never retried, it leads to compensation."""


class TransientError(Exception):
    """A failure worth retrying with backoff (a dependency that is briefly unavailable)."""


class MalformedMessage(ValueError):
    """A message that can never be processed: it fails alone and reaches the DLQ after its receives."""


#: AWS error codes (and transaction cancellation reasons) that a retry can fix.
RETRYABLE_AWS_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionConflict",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def raise_transient_aws_errors(fn: Handler) -> Handler:
    """Re-raise throttling, conflicts and AWS-side failures as :class:`TransientError`, which orchestrations
    retry with backoff; anything else propagates unchanged."""
    from botocore.exceptions import ClientError

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reasons = {r.get("Code", "") for r in error.response.get("CancellationReasons", [])}
            if code in RETRYABLE_AWS_CODES or reasons & RETRYABLE_AWS_CODES:
                raise TransientError(f"{code}: {error}") from error
            raise

    return call  # type: ignore[return-value]
