"""The Lambdas a pattern owns, as settings: their fields go to the Function block as given.

A pattern declares its handlers with :class:`HandlerSettings` and leaves every function field it does not set to
the Function block, so the defaults and ranges of memory, timeout, log retention and level stay in that block
alone (the pattern validates them early with ``function_problems``). A field left out is ``None`` here and absent
from the block's arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from serverless_patterns.blocks.function import FunctionArgs, component_function_args
from serverless_patterns.internals.iam import Grant
from serverless_patterns.internals.settings import setting

__all__ = ["COMPONENT_FUNCTION_FIELDS", "FUNCTION_FIELDS", "HandlerSettings", "given", "pattern_function_args"]

#: The per-function fields the Function block takes from a handler's settings.
FUNCTION_FIELDS = (
    "handler_package",
    "handler",
    "memory_mb",
    "timeout_seconds",
    "environment",
    "grants",
    "reserved_concurrency",
)
#: The fields the Function block takes from the pattern's own settings, for every function of the pattern.
COMPONENT_FUNCTION_FIELDS = (
    "alarm_topic_arn",
    "log_retention_days",
    "log_level",
    "metrics_namespace",
    "handlers_root",
    "kms_key_arn",  # the pattern's customer key: the Function block encrypts the log group with it
)

AS_FUNCTION = "as `Function`"


@dataclass(frozen=True, kw_only=True)
class HandlerSettings:
    """One Lambda of a pattern: its code, and the function fields the Function block applies."""

    handler_package: str = setting(doc="a folder under the handlers root")
    handler: str = setting(doc="`module.function` inside it")
    memory_mb: int | None = setting(None, default_doc=AS_FUNCTION)
    timeout_seconds: int | None = setting(None, default_doc=AS_FUNCTION)
    environment: Mapping[str, pulumi.Input[str]] | None = setting(
        None, default_doc="{}", doc="added to the variables the pattern sets"
    )
    grants: tuple[Grant, ...] = setting((), doc="added to the grants the pattern gives")


def given(settings: object, names: Iterable[str]) -> dict[str, Any]:
    """The named settings that hold a value (``None`` leaves the field to the Function block's default)."""
    values = ((name, getattr(settings, name, None)) for name in names)
    return {name: value for name, value in values if value is not None}


def pattern_function_args(
    handler: HandlerSettings,
    pattern: object,
    environment: Mapping[str, pulumi.Input[str]] | None = None,
    grants: list[Grant] | None = None,
) -> FunctionArgs:
    """The Function block's arguments for ``handler``: the fields it gives, the pattern-wide ones of ``pattern``
    (alarm topic, log settings, handlers root), and the pattern's own ``environment`` and ``grants`` first."""
    return component_function_args(
        given(handler, FUNCTION_FIELDS), given(pattern, COMPONENT_FUNCTION_FIELDS), environment, grants
    )
