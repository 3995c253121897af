"""Handler tests: Powertools configured as the function block configures it, X-Ray off outside Lambda."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Read by Powertools when handler modules are imported, so set before any test module imports one.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "handler-tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HandlerTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Powertools Metrics keep class-level state: no test sees another's unflushed metrics or cold start."""
    from aws_lambda_powertools.metrics.provider import cold_start

    from handler_runtime.observability import metrics

    metrics.clear_metrics()
    cold_start.reset_cold_start_flag()
    yield
    metrics.clear_metrics()
