"""Physical names derived from the project, the stack and a logical name, within AWS's length limits."""

from __future__ import annotations

import hashlib

import pulumi

__all__ = ["physical_name"]


def physical_name(logical: str, max_length: int = 64) -> str:
    """``<project>-<stack>-<logical>``, shortened with a stable hash suffix when longer than ``max_length``.

    Used where a name must be known before the resource exists (a Lambda's log group is
    ``/aws/lambda/<function name>`` and is created first so that retention applies from the first log line).
    """
    full = f"{pulumi.get_project()}-{pulumi.get_stack()}-{logical}"
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: max_length - 9].rstrip('-')}-{digest}"
