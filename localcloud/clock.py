"""The local cloud's clock: virtual time that tests and the demo advance explicitly, or wall time.

While installed, moto reads its time from this clock (SQS visibility timeouts and delays, DynamoDB stream record
timestamps), so advancing the clock is what makes a failed message visible again, a schedule due, a stream record
old or a TTL expire — without waiting.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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

    def naive_utcnow(self) -> datetime:
        """What moto expects from ``utcnow()``: naive UTC."""
        return self.now().replace(tzinfo=None)

    @contextlib.contextmanager
    def installed_in_moto(self) -> Iterator[Clock]:
        """Make moto's time follow this clock while the context is active."""
        import moto.core.utils as core_utils
        import moto.dynamodb.models.table as dynamodb_table

        patched = [(core_utils, "utcnow"), (dynamodb_table, "utcnow")]
        saved = [(module, name, getattr(module, name)) for module, name in patched]
        for module, name in patched:
            setattr(module, name, self.naive_utcnow)
        try:
            yield self
        finally:
            for module, name, original in saved:
                setattr(module, name, original)
