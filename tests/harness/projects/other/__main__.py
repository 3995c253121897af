"""Another project: one table, and a label from its own ``components`` package."""

from __future__ import annotations

import pulumi

from components.naming import label
from serverless_patterns import Table

table = Table("things", {"partition_key": {"name": "id", "type": "S"}})
pulumi.export("label", label())
pulumi.export("table_arn", table.table_arn)
