"""Write-once records: a conditional put that treats "already there" as success."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["put_once", "utc_now"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def put_once(table: Any, item: dict[str, Any], key_attribute: str) -> bool:
    """Put ``item`` unless an item with its key exists; True when written, False when it already was."""
    try:
        table.put_item(
            Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": key_attribute}
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True
