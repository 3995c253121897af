"""Faults the local cloud can inject at every side-effect boundary of a function, one invocation at a time.

A fault is ``fault(real_invoke, event) -> result``: it runs instead of the invocation and decides whether and
how the real handler runs. The kinds below are what at-least-once delivery and real infrastructure do to a
handler; :meth:`LocalCloud.inject_fault` queues one for the next invocation of a function, and
:class:`RandomFaults` picks them at random for a chaos run.

- ``error_before``: the invocation fails before the handler runs (a Lambda service error).
- ``error_after`` / ``timeout_after``: the handler ran and its writes are done, then the invocation fails (the
  runtime crashed, or Lambda stopped it at its timeout): the caller cannot tell it from a failure before.
- ``throttle``: one AWS call the handler makes is throttled (after the SDK's own retries gave up).
- ``duplicate``: the same event is delivered twice.
- ``reorder``: the records of a batch arrive in reverse order (batch events only).
- ``poison``: one delivery carries a corrupted payload (saga tasks); for queues, streams, the command and the
  scheduled job a poison *message* is sent by the campaign itself (:mod:`scenarios.chaos`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from localcloud.handler_thread import carried_into_handler_threads
from localcloud.lambda_runtime import InvocationError
from localcloud.telemetry import current_function

__all__ = [
    "FAULT_KINDS",
    "AwsCallFaults",
    "Fault",
    "RandomFaults",
    "corrupt",
    "delivery_key",
    "drop_items",
    "duplicate",
    "error_after",
    "error_before",
    "reorder",
    "throttle",
    "timeout_after",
]

Fault = Callable[[Callable[[Any], Any], Any], Any]
FAULT_KINDS = ("error_before", "error_after", "timeout_after", "throttle", "duplicate", "reorder", "poison")


def error_before(error_type: str = "Lambda.ServiceException") -> Fault:
    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        raise InvocationError(error_type, "injected: the invocation failed before the handler ran", [])

    return fault


def error_after(error_type: str = "Runtime.ExitError") -> Fault:
    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        real(event)
        raise InvocationError(error_type, "injected: the runtime exited after the handler's writes", [])

    return fault


def timeout_after() -> Fault:
    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        real(event)
        raise InvocationError("Sandbox.Timedout", "injected: Task timed out after the handler's writes", [])

    return fault


def duplicate() -> Fault:
    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        real(copy.deepcopy(event))
        return real(event)

    return fault


def reorder() -> Fault:
    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        if isinstance(event, dict) and isinstance(event.get("Records"), list):
            event = {**event, "Records": list(reversed(event["Records"]))}
        return real(event)

    return fault


def corrupt(transform: Callable[[Any], Any]) -> Fault:
    """One delivery of ``transform(event)`` instead of the event (a poison payload)."""

    def fault(real: Callable[[Any], Any], event: Any) -> Any:
        return real(transform(copy.deepcopy(event)))

    return fault


def drop_items(event: Any) -> Any:
    """A saga task input without its items: no step can act on it."""
    if isinstance(event, dict):
        event.pop("items", None)
    return event


class AwsCallFaults:
    """Throttles chosen AWS calls made by handlers: while installed, a function armed with :meth:`armed` gets a
    throttling error on its ``call_index``-th AWS call of the invocation, as AWS answers once the SDK's own retries
    are exhausted (DynamoDB transactions: TransactionCanceledException with ThrottlingError reasons)."""

    def __init__(self) -> None:
        self._armed = threading.local()
        self.throttled: list[tuple[str, str, str]] = []  # (function, service, operation)

    @contextlib.contextmanager
    def armed(self, call_index: int) -> Iterator[None]:
        previous = getattr(self._armed, "countdown", None)
        self._armed.countdown = call_index
        try:
            yield
        finally:
            self._armed.countdown = previous

    @contextlib.contextmanager
    def installed(self) -> Iterator[AwsCallFaults]:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        faults = self

        def maybe_throttled(client: Any, operation: str, params: dict[str, Any]) -> Any:
            countdown = getattr(faults._armed, "countdown", None)
            function = current_function()
            if countdown is not None and function is not None:
                if countdown == 0:
                    faults._armed.countdown = None
                    service = client.meta.service_model.service_name
                    faults.throttled.append((function, service, operation))
                    raise _throttling_error(client, service, operation, params)
                faults._armed.countdown = countdown - 1
            return original(client, operation, params)

        BaseClient._make_api_call = maybe_throttled  # type: ignore[method-assign]
        try:
            with carried_into_handler_threads(self._carry):
                yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def _carry(self) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        """The invoking thread's armed countdown, for the handler's own thread."""
        countdown = getattr(self._armed, "countdown", None)
        return contextlib.nullcontext if countdown is None else lambda: self.armed(countdown)

    def throttle(self, call_index: int = 0) -> Fault:
        def fault(real: Callable[[Any], Any], event: Any) -> Any:
            with self.armed(call_index):
                return real(event)

        return fault


def throttle(faults: AwsCallFaults, call_index: int = 0) -> Fault:
    return faults.throttle(call_index)


_THROTTLE_CODES = {
    "dynamodb": (
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput is exceeded",
    ),
    "sns": ("Throttled", "Rate exceeded"),
    "sqs": ("RequestThrottled", "Rate exceeded"),
    "lambda": ("TooManyRequestsException", "Rate exceeded"),
}


def _throttling_error(client: Any, service: str, operation: str, params: dict[str, Any]) -> Exception:
    from botocore.exceptions import ClientError

    if service == "dynamodb" and operation == "TransactWriteItems":
        reasons = [{"Code": "None"} for _ in params.get("TransactItems", [])]
        reasons[-1:] = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}]
        response: dict[str, Any] = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled (ThrottlingError)"},
            "CancellationReasons": reasons,
        }
    else:
        code, message = _THROTTLE_CODES.get(service, ("ThrottlingException", "Rate exceeded"))
        response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    error_class = client.exceptions.from_code(response["Error"]["Code"])
    return (
        error_class(response, operation) if issubclass(error_class, ClientError) else ClientError(response, operation)
    )


def delivery_key(event: Any) -> str:
    """What identifies a delivery independently of run-to-run noise (message ids, receipt handles, sequence
    numbers, timestamps): SQS bodies, stream records' keys, event name and order version, or the payload."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        parts = []
        for record in event["Records"]:
            if not isinstance(record, dict):
                parts.append(repr(record))
            elif "body" in record:
                parts.append(str(record["body"]))
            else:
                stream = record.get("dynamodb", {})
                image = stream.get("NewImage") or stream.get("OldImage") or {}
                parts.append(json.dumps([record.get("eventName"), stream.get("Keys"), image.get("version")]))
        return "\n".join(parts)
    return json.dumps(_without_causes(event), sort_keys=True, default=str)


def _without_causes(value: Any) -> Any:
    """A payload without error causes (they carry stack traces with file paths)."""
    if isinstance(value, dict):
        return {k: _without_causes(v) for k, v in value.items() if k not in {"Cause", "stackTrace"}}
    if isinstance(value, list):
        return [_without_causes(v) for v in value]
    return value


@dataclass
class RandomFaults:
    """Picks a fault for an invocation with probability ``rate``. The choice is a function of the seed, the
    function, the delivery (:func:`delivery_key`) and how often that same delivery was seen, not of the order in
    which concurrent executions happen to run: the same seed injects the same faults into the same deliveries.
    ``kinds(function, event)`` says which kinds apply to that invocation."""

    seed: int
    rate: float
    call_faults: AwsCallFaults
    kinds: Callable[[str, Any], tuple[str, ...]]
    injected: dict[str, int] = field(default_factory=dict)
    enabled: bool = True
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, function: str, event: Any) -> Fault | None:
        if not self.enabled or self.rate <= 0:
            return None
        key = f"{function}\n{delivery_key(event)}"
        with self._lock:
            occurrence = self._seen[key] = self._seen.get(key, 0) + 1
        rng = random.Random(f"{self.seed}\n{key}\n{occurrence}")
        if rng.random() >= self.rate:
            return None
        applicable = self.kinds(function, event)
        if not applicable:
            return None
        kind = rng.choice(applicable)
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        return self.build(kind, rng)

    def build(self, kind: str, rng: random.Random) -> Fault:
        if kind == "error_before":
            return error_before(rng.choice(["Lambda.ServiceException", "Runtime.ExitError"]))
        if kind == "error_after":
            return error_after()
        if kind == "timeout_after":
            return timeout_after()
        if kind == "throttle":
            return self.call_faults.throttle(rng.randrange(3))
        if kind == "duplicate":
            return duplicate()
        if kind == "reorder":
            return reorder()
        if kind == "poison":
            return corrupt(drop_items)
        raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(FAULT_KINDS)})")
