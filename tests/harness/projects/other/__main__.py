"""Another project: one table, and a label from its own ``components`` package."""

from __future__ import annotations

import pulumi

from components.naming import label
from serverless_patterns import Table

ALARMS = "arn:aws:sns:us-east-1:123456789012:alarms"
table = Table("things", {"alarm_topic_arn": ALARMS, "partition_key": {"name": "id", "type": "S"}})
pulumi.export("label", label())
pulumi.export("table_arn", table.table_arn)
