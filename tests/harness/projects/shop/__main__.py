"""A small shop: order events fanned out to an audit subscriber (a fixture project of the harness tests)."""

from __future__ import annotations

import pulumi

from components.naming import label
from serverless_patterns import AlarmTopic, FanOut

config = pulumi.Config()
alarms = AlarmTopic("alarms", {})
orders = FanOut(
    "orders",
    {
        "alarm_topic_arn": alarms.topic_arn,
        "log_retention_days": config.require_int("retentionDays"),
        "subscribers": [{"name": "audit", "handler_package": "audit", "handler": "app.handler"}],
    },
)
pulumi.export("label", label())
pulumi.export("owner", config.require("owner"))
pulumi.export("api_key", config.require("apiKey"))
pulumi.export("topic_arn", orders.topic_arn)
pulumi.export("audit_queue_url", orders.subscribers["audit"].queue_url)
