"""Write-once records: a conditional put that treats "already there" as success."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["clock", "put_once", "utc_now"]

#: Where handlers read the time. The local cloud points it at its own clock, so the timestamps handlers write
#: (created_at, updated_at) and the times schedules fire at are on one clock.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utc_now() -> str:
    """Now, as the ISO-8601 UTC string with milliseconds the application stores."""
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def put_once(table: Any, item: dict[str, Any], key_attribute: str) -> bool:
    """Put ``item`` unless an item with its key exists; True when written, False when it already was."""
    try:
        table.put_item(
            Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": key_attribute}
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True
