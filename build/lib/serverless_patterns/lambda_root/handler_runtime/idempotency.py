"""Idempotent record processing on the stack's idempotency table (Powertools, DynamoDB persistence).

The table (``IDEMPOTENCY_TABLE``, key ``id``, TTL on ``expiration``) is shared by every function; records are
keyed by function and payload key. Inside a batch handler, call :meth:`Idempotency.register` with the Lambda
context first: without it, a record left IN_PROGRESS by a timed-out invocation blocks its redeliveries until
the record expires instead of until the invocation's deadline. A wrapped function called before any
``register`` raises instead of silently writing such records.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["DEFAULT_EXPIRY_SECONDS", "EXPIRY_ENV", "Idempotency", "expiry_seconds"]

#: Set by the patterns to how long a message can come back to the function (a DLQ redrive included).
EXPIRY_ENV = "IDEMPOTENCY_EXPIRY_SECONDS"
#: Without it: an SQS message can wait 14 days in its DLQ, then be redriven into a queue keeping it 4 more days.
DEFAULT_EXPIRY_SECONDS = 18 * 24 * 3600
Result = TypeVar("Result")


def expiry_seconds() -> int:
    """How long idempotency records live: ``IDEMPOTENCY_EXPIRY_SECONDS`` when set, else 18 days. A record that
    expires before its message stops coming back lets a redelivery apply the effect twice."""
    value = os.environ.get(EXPIRY_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_EXPIRY_SECONDS


class Idempotency:
    """Makes a function of one JSON payload run once per key (``key_jmespath`` into the payload).

    >>> once = Idempotency("order_id")            # doctest: +SKIP
    >>> @once.function
    ... def record_big_order(payload: dict) -> dict: ...
    >>> record_big_order(payload={"order_id": "o-1", ...})
    """

    def __init__(
        self, key_jmespath: str, expires_after_seconds: int | None = None, table_name: str | None = None
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=key_jmespath,
            expires_after_seconds=expires_after_seconds or expiry_seconds(),
            raise_on_no_idempotency_key=True,
        )
        self._table_name = table_name
        self._persistence: DynamoDBPersistenceLayer | None = None

    @property
    def persistence(self) -> DynamoDBPersistenceLayer:
        """Built on first use (it creates a boto3 client), from ``IDEMPOTENCY_TABLE`` unless a name was given."""
        if self._persistence is None:
            table = self._table_name or os.environ.get("IDEMPOTENCY_TABLE")
            if not table:
                raise RuntimeError("IDEMPOTENCY_TABLE is not set: grant the function the idempotency table")
            self._persistence = DynamoDBPersistenceLayer(table_name=table)
        return self._persistence

    def register(self, context: LambdaContext) -> None:
        """Record this invocation's context (every invocation: its deadline bounds IN_PROGRESS records)."""
        self.config.register_lambda_context(context)

    def first_time(self, name: str) -> Callable[[dict[str, Any]], bool]:
        """A guard for an effect that has no conditional write of its own (a metric, a call to a third party):
        ``guard(payload)`` records the payload's key and returns True the first time, False for every repeat.

        Apply the effect *after* a True: the key is recorded (COMPLETED) before the effect happens, so a failure of
        the record's write (a throttled save) never leads to the effect twice; only a crash between the return and
        the effect — no AWS call in between — could lose it. ``name`` keys the records (keep it stable).
        """
        fresh: list[bool] = []

        def record(payload: dict[str, Any]) -> dict[str, bool]:
            fresh.append(True)
            return {"recorded": True}

        record.__name__ = record.__qualname__ = name
        recorded = self.function(record)

        def guard(payload: dict[str, Any]) -> bool:
            fresh.clear()
            recorded(payload=payload)
            return bool(fresh)

        return guard

    def function(self, fn: Callable[..., Result]) -> Callable[..., Result]:
        """Wrap ``fn(payload=..., **others)``: a repeated payload key returns the first result without running
        ``fn``. Only ``payload`` is hashed; other keyword arguments (a Lambda context, say) pass through."""
        built: list[Callable[..., Result]] = []  # decorated on first call: the persistence layer needs boto3

        @functools.wraps(fn)
        def call(*, payload: dict[str, Any], **others: Any) -> Result:
            if self.config.lambda_context is None:
                raise RuntimeError(f"{fn.__qualname__}: call register(context) in the handler before using it")
            if not built:
                built.append(
                    idempotent_function(
                        data_keyword_argument="payload", config=self.config, persistence_store=self.persistence
                    )(fn)
                )
            return built[0](payload=payload, **others)

        return call
