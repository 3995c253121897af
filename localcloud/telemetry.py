"""What the local cloud observes while handlers run: their log lines, the AWS calls they make, their metrics.

Handlers print to stdout (Powertools Logger and EMF metrics); invocations print into a :class:`LogRouter`,
which files every line under the function that printed it. EMF blobs become datapoints in the
:class:`MetricStore`, beside the metrics the emulators publish for AWS's own namespaces (AWS/Lambda, AWS/SQS,
AWS/States). :class:`CallRecorder` records every AWS API call a handler makes, with the resource it names.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

__all__ = [
    "HANDLER_STDOUT",
    "AwsCall",
    "CallRecorder",
    "Datapoint",
    "LogRouter",
    "MetricStore",
    "SharedStdout",
    "current_function",
]

_current = threading.local()


def current_function() -> str | None:
    """The function whose invocation is running on this thread, if any."""
    return getattr(_current, "name", None)


@contextlib.contextmanager
def running(function_name: str) -> Iterator[None]:
    previous = current_function()
    _current.name = function_name
    try:
        yield
    finally:
        _current.name = previous


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    timestamp: datetime
    unit: str = "None"


Series = tuple[str, str, tuple[tuple[str, str], ...]]


class MetricStore:
    """Datapoints by namespace, metric name and dimensions (CloudWatch's identity of a metric).

    ``points`` keeps every datapoint in the order recorded (what is published to CloudWatch); each metric's
    points are also indexed in time order, so an alarm's query reads only its own metric's window.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.points: list[Datapoint] = []
        self._series: dict[Series, tuple[list[datetime], list[float]]] = {}
        self._lock = threading.Lock()

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        value: float,
        *,
        unit: str = "None",
        timestamp: datetime | None = None,
    ) -> None:
        point = Datapoint(
            namespace, name, tuple(sorted(dimensions.items())), float(value), timestamp or self.clock(), unit
        )
        with self._lock:
            self.points.append(point)
            times, values = self._series.setdefault((namespace, name, point.dimensions), ([], []))
            if not times or times[-1] <= point.timestamp:
                times.append(point.timestamp)
                values.append(point.value)
            else:  # a timestamp given out of order
                at = bisect.bisect_right(times, point.timestamp)
                times.insert(at, point.timestamp)
                values.insert(at, point.value)

    def query(
        self, namespace: str, name: str, dimensions: dict[str, str], start: datetime, end: datetime
    ) -> list[float]:
        with self._lock:
            series = self._series.get((namespace, name, tuple(sorted(dimensions.items()))))
            if series is None:
                return []
            times, values = series
            return values[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)]

    def total(self, namespace: str, name: str, **dimensions: str) -> float:
        """Sum of every datapoint of a metric whose dimensions include ``dimensions`` (for reports and tests)."""
        wanted = set(dimensions.items())
        with self._lock:
            return sum(
                sum(values)
                for (ns, metric, dims), (_, values) in self._series.items()
                if ns == namespace and metric == name and wanted <= set(dims)
            )

    def since(self, position: int) -> list[Datapoint]:
        """The datapoints recorded after the first ``position`` ones."""
        with self._lock:
            return self.points[position:]

    def put_emf(self, blob: dict[str, Any]) -> None:
        """Record an Embedded Metric Format document as CloudWatch would extract it."""
        aws = blob.get("_aws") or {}
        timestamp = self.clock()
        for directive in aws.get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                values = blob.get(metric["Name"])
                values = values if isinstance(values, list) else [values]
                for dimension_set in directive.get("Dimensions", [[]]):
                    dimensions = {d: str(blob.get(d, "")) for d in dimension_set}
                    for value in values:
                        if isinstance(value, int | float):
                            self.put(
                                directive["Namespace"],
                                metric["Name"],
                                dimensions,
                                value,
                                unit=metric.get("Unit", "None"),
                                timestamp=timestamp,
                            )


class LogRouter(io.TextIOBase):
    """Where handlers print during an invocation: each line goes to that function's log, EMF blobs also to the
    metric store; anything printed outside an invocation passes through."""

    def __init__(
        self, passthrough: TextIO, metrics: MetricStore, echo: bool = False, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.passthrough = passthrough
        self.metrics = metrics
        self.echo = echo
        self.clock = clock or metrics.clock
        self.logs: dict[str, list[str]] = {}
        self.times: dict[str, list[datetime]] = {}  # when each line of ``logs`` was printed, on the local clock
        self._partial: dict[str, str] = {}
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        function = current_function()
        if function is None:
            return self.passthrough.write(text)
        with self._lock:
            buffered = self._partial.get(function, "") + text
            *lines, rest = buffered.split("\n")
            self._partial[function] = rest
            for line in lines:
                self._line(function, line)
        return len(text)

    def _line(self, function: str, line: str) -> None:
        if not line.strip():
            return
        if line.startswith("{") and '"_aws"' in line:
            with contextlib.suppress(ValueError):
                self.metrics.put_emf(json.loads(line))
        self.logs.setdefault(function, []).append(line)
        self.times.setdefault(function, []).append(self.clock())
        if self.echo:
            self.passthrough.write(f"[{function}] {line}\n")

    def position(self, function: str) -> int:
        """How many lines ``function`` has printed so far."""
        return len(self.logs.get(function, ()))

    def since(self, function: str, position: int) -> list[tuple[datetime, str]]:
        """The lines ``function`` printed after the first ``position``, with the local time of each."""
        with self._lock:
            times, lines = self.times.get(function, []), self.logs.get(function, [])
            return list(zip(times[position:], lines[position:], strict=True))

    def platform(self, function: str, line: str) -> None:
        """A line Lambda itself writes (START, END, REPORT): echoed with the handler's, not kept in ``logs``."""
        if self.echo:
            with self._lock:
                self.passthrough.write(f"[{function}] {line}\n")

    def flush(self) -> None:
        self.passthrough.flush()


class SharedStdout(io.TextIOBase):
    """The one stream handlers print into, routing to the active cloud's :class:`LogRouter`.

    Powertools' Logger keeps the stream it was built with for the life of the process (loggers are global by
    service name), so every cloud in one process must hand handlers this same object.
    """

    def __init__(self) -> None:
        self.router: LogRouter | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.router is not None:
            return self.router.write(text)
        return sys.__stdout__.write(text) if sys.__stdout__ is not None else len(text)

    @contextlib.contextmanager
    def routing_to(self, router: LogRouter) -> Iterator[SharedStdout]:
        previous, self.router = self.router, router
        try:
            yield self
        finally:
            self.router = previous


HANDLER_STDOUT = SharedStdout()


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str
    action: str
    resource: str


_RESOURCE_PARAMS = (
    "TableName",
    "QueueUrl",
    "TopicArn",
    "stateMachineArn",
    "executionArn",
    "FunctionName",
    "StreamArn",
    "name",
)


def _resource_of(params: dict[str, Any]) -> str:
    for key in _RESOURCE_PARAMS:
        if key in params:
            return str(params[key])
    if "TransactItems" in params:
        tables = sorted({next(iter(item.values())).get("TableName", "?") for item in params["TransactItems"]})
        return ",".join(tables)
    if "RequestItems" in params:
        return ",".join(sorted(params["RequestItems"]))
    return ""


@dataclass
class CallRecorder:
    """Every AWS API call made by a handler during an invocation: (function, service, action, resource)."""

    calls: list[AwsCall] = field(default_factory=list)

    @contextlib.contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = current_function()
            if function is not None:
                recorder.calls.append(
                    AwsCall(function, client.meta.service_model.service_name, operation_name, _resource_of(api_params))
                )
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = recording  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def by_function(self, function: str) -> list[AwsCall]:
        return [c for c in self.calls if c.function == function]
