"""Tables of the parcel tracker: each keyed by one string attribute, alarmed, protected from deletion where it
matters."""

from __future__ import annotations

import pulumi

from serverless_patterns import Table

__all__ = ["keyed_table"]


def keyed_table(
    name: str,
    key: str,
    alarms: pulumi.Input[str],
    deletion_protection: bool,
    opts: pulumi.ResourceOptions | None = None,
) -> Table:
    """An on-demand table whose partition key is the string attribute ``key``, its alarms notifying ``alarms``."""
    return Table(
        name,
        {
            "alarm_topic_arn": alarms,
            "partition_key": {"name": key, "type": "S"},
            "deletion_protection": deletion_protection,
        },
        opts=opts,
    )
