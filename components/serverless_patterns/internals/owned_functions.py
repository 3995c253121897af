"""The Function block's fields a pattern takes for each Lambda it owns, forwarded only when given.

A pattern's settings declare these fields with ``None`` ("as the Function block") so that the Function block stays
the one place their defaults and ranges live: the pattern forwards the fields the user set through
``component_function_args`` and validates them before building anything with ``function_problems``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["COMPONENT_WIDE_FIELDS", "PER_FUNCTION_FIELDS", "given"]

#: Fields of one function (a subscriber, a job): handler, sizing, grants and environment.
PER_FUNCTION_FIELDS = (
    "handler_package",
    "handler",
    "memory_mb",
    "timeout_seconds",
    "reserved_concurrency",
    "grants",
    "environment",
)
#: Fields of the pattern applied to every function it owns.
COMPONENT_WIDE_FIELDS = ("alarm_topic_arn", "log_retention_days", "log_level", "metrics_namespace", "handlers_root")


def given(settings: object, names: Iterable[str]) -> dict[str, Any]:
    """The named settings that hold a value (``None`` leaves the field to the Function block's default)."""
    return {name: value for name in names if (value := getattr(settings, name)) is not None}
