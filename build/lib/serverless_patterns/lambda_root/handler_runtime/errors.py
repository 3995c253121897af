"""Error classes whose names the orchestration sees (Step Functions matches on the exception class name)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "RETRYABLE_AWS_CODES",
    "RETRYABLE_CANCELLATION_REASONS",
    "BusinessError",
    "MalformedMessage",
    "TransientError",
    "is_transient",
    "raise_transient_aws_errors",
]

Handler = TypeVar("Handler", bound=Callable[..., Any])


class BusinessError(Exception):
    """A domain refusal (OutOfStock, PaymentDeclined, ...): never retried, it leads to compensation."""


class TransientError(Exception):
    """A failure worth retrying with backoff (a dependency that is briefly unavailable)."""


class MalformedMessage(ValueError):
    """A message that can never be processed: it fails alone and reaches the DLQ after its receives."""


#: AWS error codes that a retry can fix.
RETRYABLE_AWS_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)
#: Per-item reasons of a DynamoDB TransactionCanceledException that a retry can fix (ConditionalCheckFailed is a
#: business answer and is never among them).
RETRYABLE_CANCELLATION_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict", "RequestLimitExceeded"}
)


def is_transient(error: BaseException) -> bool:
    """Whether a retry can fix ``error``: throttling, transaction conflicts, AWS-side failures, and the botocore
    connection and read timeouts (which are not ``ClientError``s)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(error, ConnectTimeoutError | ReadTimeoutError | EndpointConnectionError | ConnectionClosedError):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        reasons = {r.get("Code", "") for r in error.response.get("CancellationReasons", None) or []}
        return code in RETRYABLE_AWS_CODES or bool(reasons & RETRYABLE_CANCELLATION_REASONS)
    return False


def raise_transient_aws_errors(fn: Handler) -> Handler:
    """Re-raise what a retry can fix (:func:`is_transient`) as :class:`TransientError`, which orchestrations retry
    with backoff; anything else propagates unchanged."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if is_transient(error):
                raise TransientError(f"{type(error).__name__}: {error}") from error
            raise

    return call  # type: ignore[return-value]
