"""The local cloud's clock: virtual time that tests and the demo advance explicitly, or wall time.

While installed, moto reads its time from this clock (SQS visibility timeouts and delays, DynamoDB stream record
timestamps), so advancing the clock is what makes a failed message visible again, a schedule due, a stream record
old or a TTL expire — without waiting. Powertools' idempotency reads it too, so the records it writes expire, and
an invocation's IN_PROGRESS record stops blocking redeliveries, on the same clock.
"""

from __future__ import annotations

import contextlib
import datetime as datetime_module
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from types import SimpleNamespace
from typing import Any

__all__ = ["Clock"]


class Clock:
    """Virtual UTC time. ``tied_to_wall`` makes it follow wall time (plus whatever was advanced by hand)."""

    def __init__(self, start: datetime | None = None, tied_to_wall: bool = False) -> None:
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._offset = timedelta()
        self._tied = tied_to_wall
        self._wall_origin = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = timedelta(seconds=time.monotonic() - self._wall_origin) if self._tied else timedelta()
            return self._start + self._offset + elapsed

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def resume_at(self, moment: datetime) -> datetime:
        """Continue from ``moment``, as a restored cloud does (unlike :meth:`advance`, it may move back: call it
        before anything has read the time it replaces)."""
        with self._lock:
            elapsed = timedelta(seconds=time.monotonic() - self._wall_origin) if self._tied else timedelta()
            self._offset = moment.astimezone(UTC) - self._start - elapsed
        return self.now()

    def naive_utcnow(self) -> datetime:
        """What moto expects from ``utcnow()``: naive UTC."""
        return self.now().replace(tzinfo=None)

    @property
    def tied_to_wall(self) -> bool:
        return self._tied

    @contextlib.contextmanager
    def installed_in_moto(self) -> Iterator[Clock]:
        """Make moto's time follow this clock while the context is active.

        On a virtual clock an SQS long poll (``WaitTimeSeconds``) returns at once with what is there: moto would
        wait for its deadline on this clock, which only moves when someone advances it (nothing can arrive
        meanwhile, so answering at once is what the wait would have answered). A message whose visibility timeout
        ends *now* is visible (moto waits for the next millisecond, which a virtual clock may never reach), so a
        visibility timeout of 0 makes a message visible at once, as on AWS.
        """
        import moto.core.utils as core_utils
        import moto.dynamodb.models.table as dynamodb_table
        from moto.core.utils import unix_time_millis
        from moto.sqs.models import Message, SQSBackend

        def visible(message: Any) -> bool:
            return bool(unix_time_millis() >= message.visible_at)

        patched: list[tuple[Any, str, Any]] = [
            (core_utils, "utcnow", self.naive_utcnow),
            (dynamodb_table, "utcnow", self.naive_utcnow),
            (Message, "visible", property(visible)),
        ]
        if not self._tied:
            receive = SQSBackend.receive_message

            def receive_without_waiting(backend: Any, queue_name: str, count: int, wait: int, *rest: Any) -> Any:
                return receive(backend, queue_name, count, 0, *rest)

            patched.append((SQSBackend, "receive_message", receive_without_waiting))
        saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
        for owner, name, replacement in patched:
            setattr(owner, name, replacement)
        try:
            yield self
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)

    @contextlib.contextmanager
    def installed_in_powertools(self) -> Iterator[Clock]:
        """Make Powertools' idempotency take "now" from this clock while the context is active.

        Its modules call ``dt.datetime.now()`` (``import datetime as dt``) for record expiry and for the deadline
        of an IN_PROGRESS record (now + the invocation's remaining time); each module's ``dt`` is replaced by a
        copy of the datetime module whose ``datetime.now`` reads this clock.
        """
        from aws_lambda_powertools.utilities.idempotency import base
        from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
        from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb

        clock = self

        class LocalDatetime(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> datetime:
                return datetime.fromtimestamp(clock.now().timestamp(), tz)  # naive local time without tz, as now()

        local = SimpleNamespace(**{**vars(datetime_module), "datetime": LocalDatetime})
        modules = [base, persistence_base, datarecord, dynamodb]
        if any(not hasattr(getattr(module, "dt", None), "datetime") for module in modules):
            raise RuntimeError("Powertools' idempotency no longer reads the time through `dt`: update this patch")
        saved = [(module, getattr(module, "dt")) for module in modules]  # noqa: B009 (a private module reference)
        for module in modules:
            setattr(module, "dt", local)  # noqa: B010
        try:
            yield self
        finally:
            for module, original in saved:
                setattr(module, "dt", original)  # noqa: B010
