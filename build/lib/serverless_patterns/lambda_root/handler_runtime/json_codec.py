"""JSON for values read from DynamoDB or parsed with Decimal: numbers stay JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "plain"]


def plain(value: Any) -> Any:
    """``value`` with every Decimal turned into an int (when integral) or a float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys; Decimals become JSON numbers."""
    return json.dumps(plain(value), separators=(",", ":"), sort_keys=True)
