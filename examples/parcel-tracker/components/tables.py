"""Tables of the parcel tracker: each keyed by one string attribute, protected from deletion where it matters."""

from __future__ import annotations

import pulumi

from serverless_patterns import Table

__all__ = ["keyed_table"]


def keyed_table(name: str, key: str, deletion_protection: bool, opts: pulumi.ResourceOptions | None = None) -> Table:
    """An on-demand table whose partition key is the string attribute ``key``."""
    return Table(
        name, {"partition_key": {"name": key, "type": "S"}, "deletion_protection": deletion_protection}, opts=opts
    )
