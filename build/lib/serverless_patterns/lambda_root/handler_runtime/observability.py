"""Powertools Logger, Tracer and Metrics, built once per process from the function's environment.

The function block sets ``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE`` and
``POWERTOOLS_LOG_LEVEL``; the handler decorates its entry point with :func:`instrumented`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

__all__ = ["instrumented", "logger", "metrics", "tracer"]

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def instrumented(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Logger context (with the correlation id at ``correlation_id_path`` in the event, when given), the
    X-Ray handler segment, and EMF metrics flushed after each invocation, with a cold-start metric.

    Batch handlers leave ``correlation_id_path`` unset: :mod:`handler_runtime.batch` sets one per record.
    """

    def decorate(handler: Handler) -> Handler:
        wrapped = metrics.log_metrics(capture_cold_start_metric=True)(handler)
        wrapped = tracer.capture_lambda_handler(wrapped)
        wrapped = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(wrapped)
        return functools.wraps(handler)(wrapped)  # type: ignore[return-value]

    return decorate
