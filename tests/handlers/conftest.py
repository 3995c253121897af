"""Handler tests: Powertools configured as the function block configures it, X-Ray off outside Lambda."""

from __future__ import annotations

import os

# Read by Powertools when handler modules are imported, so set before any test module imports one.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "handler-tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HandlerTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
