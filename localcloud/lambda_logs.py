"""Each invocation's log lines in CloudWatch Logs (moto's), where Lambda writes them.

A function's lines go to its log group (the one its logging config names, else ``/aws/lambda/<name>``), in one
log stream per execution environment, named as Lambda names them (``2026/11/25/[$LATEST]<32 hex>``); a cold
start opens a new one. Around the handler's own lines come Lambda's platform lines: ``INIT_START`` on a cold
start, ``START``, ``END`` and ``REPORT``. The events are written into moto's Logs backend directly: a
``PutLogEvents`` call through boto3 for every invocation would cost more than many invocations themselves.
"""

from __future__ import annotations

import hashlib
import math
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["FunctionLogs", "LambdaLogs", "closing_lines", "default_log_group", "error_line", "opening_lines"]

#: What REPORT says of memory: the local runtime shares one process, so a function's own use is not measured.
_MEMORY_USED_MB = 72


def default_log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def _stream_name(at: datetime) -> str:
    return f"{at:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class FunctionLogs:
    """Where a function's invocations log: its group and the stream of its current execution environment (None
    until the next invocation starts one, as a cold start)."""

    group: str
    stream: str | None = None


def opening_lines(request_id: str, init_ms: float | None, region: str) -> list[str]:
    """Lambda's lines before the handler's: INIT_START on a cold start, then START."""
    lines: list[str] = []
    if init_ms is not None:
        runtime = f"python:{sys.version_info.major}.{sys.version_info.minor}"
        digest = hashlib.sha256(runtime.encode()).hexdigest()
        arn = f"arn:aws:lambda:{region}::runtime:{digest}"
        lines.append(f"INIT_START Runtime Version: {runtime}.local\tRuntime Version ARN: {arn}")
    lines.append(f"START RequestId: {request_id} Version: $LATEST")
    return lines


def error_line(error_type: str, message: str, stack: list[str]) -> str:
    """What the Python runtime logs for an exception the handler did not handle: one event, its trace included."""
    return f"[ERROR] {error_type}: {message}\n" + "".join(stack).rstrip("\n")


def closing_lines(request_id: str, duration_ms: float, init_ms: float | None, memory_mb: int) -> list[str]:
    """Lambda's lines after the handler's: END, then REPORT (with Init Duration on a cold start, which is billed
    with the invocation)."""
    billed = max(1, math.ceil(duration_ms + (init_ms or 0)))
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms"
        f"\tMemory Size: {memory_mb} MB\tMax Memory Used: {min(_MEMORY_USED_MB, memory_mb)} MB\t"
    )
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    return [f"END RequestId: {request_id}", report]


@dataclass
class LambdaLogs:
    """The log group and current log stream of every function; :meth:`write` files an invocation there.

    Plain state (group and stream names), so it can be saved with the engine.
    """

    account: str
    region: str
    functions: dict[str, FunctionLogs] = field(default_factory=dict)
    #: Each function's last invocation's lines, platform lines included (``Invoke``'s log tail).
    last: dict[str, list[str]] = field(default_factory=dict)

    def register(self, function: str, group: str | None) -> None:
        self.functions[function] = FunctionLogs(group or default_log_group(function))

    def group(self, function: str) -> str:
        return self.functions.setdefault(function, FunctionLogs(default_log_group(function))).group

    def is_cold(self, function: str) -> bool:
        """Whether the next invocation of ``function`` starts a new execution environment."""
        logs = self.functions.get(function)
        return logs is None or logs.stream is None

    def retire(self, function: str) -> None:
        """The function's execution environment is gone (its code changed): the next invocation is a cold start."""
        if function in self.functions:
            self.functions[function].stream = None

    def stream(self, function: str) -> str | None:
        logs = self.functions.get(function)
        return logs.stream if logs is not None else None

    def write(self, function: str, lines: list[tuple[datetime, str]]) -> str:
        """File an invocation's lines (platform lines included, in order, each with its local time) in the
        function's current stream, opening one on a cold start; returns the stream's name."""
        group = self._group(self.group(function))
        logs = self.functions[function]
        if logs.stream is None or logs.stream not in group.streams:
            logs.stream = _stream_name(lines[0][0])
            group.create_log_stream(logs.stream)
        events: list[dict[str, Any]] = []
        last = 0
        for at, line in lines:
            last = max(last, _millis(at))  # PutLogEvents takes events in time order
            events.append({"timestamp": last, "message": line})
        group.streams[logs.stream].put_log_events(events)
        self.last[function] = [line for _, line in lines]
        return logs.stream

    def _group(self, name: str) -> Any:
        from moto.logs.models import logs_backends

        backend = logs_backends[self.account][self.region]
        if name not in backend.groups:
            backend.create_log_group(name, {})
        return backend.groups[name]
