"""Parcel tracker: parcel events fanned out to tracking and customer notices; a daily job reports stale parcels.

    parcel-events (SNS) ─┬─> tracking queue ─> tracking: the parcel's latest status        (parcels table)
                         └─> notices queue  ─> notices: a notice per delivered parcel      (notices table)
    every day at 06:00 UTC ─> stale-parcels: parcels with no news for staleAfterHours     (reports table)

Every alarm of every component notifies one alarm topic.
"""

from __future__ import annotations

import pulumi

from components.tables import keyed_table
from serverless_patterns import AlarmTopic, FanOut, ScheduledJob, grant

config = pulumi.Config()
stale_after_hours = config.require_int("staleAfterHours")
log_retention_days = config.require_int("logRetentionDays")
deletion_protection = config.require_bool("deletionProtection")
alarm_email = config.get("alarmEmail")

alarms = AlarmTopic("alarms", {"email": alarm_email} if alarm_email else {})

parcels = keyed_table("parcels", "parcel_id", alarms.topic_arn, deletion_protection)
notices = keyed_table("notices", "notice_id", alarms.topic_arn, deletion_protection)
reports = keyed_table("reports", "report_id", alarms.topic_arn, deletion_protection)

parcel_events = FanOut(
    "parcel-events",
    {
        "alarm_topic_arn": alarms.topic_arn,
        "log_retention_days": log_retention_days,
        "subscribers": [
            {
                "name": "tracking",
                "handler_package": "tracking",
                "handler": "record.handler",
                "environment": {"PARCELS_TABLE": parcels.table_name},
                "grants": [grant(["dynamodb:UpdateItem"], [parcels.table_arn])],
            },
            {
                "name": "notices",
                "handler_package": "notices",
                "handler": "delivered.handler",
                "filter_policy": {"event_type": ["Delivered"]},
                "environment": {"NOTICES_TABLE": notices.table_name},
                "grants": [grant(["dynamodb:PutItem"], [notices.table_arn])],
            },
        ],
    },
)

stale_parcels = ScheduledJob(
    "stale-parcels",
    {
        "schedule": "cron(0 6 * * ? *)",
        "handler_package": "reports",
        "handler": "stale.handler",
        "alarm_topic_arn": alarms.topic_arn,
        "log_retention_days": log_retention_days,
        "environment": {
            "PARCELS_TABLE": parcels.table_name,
            "REPORTS_TABLE": reports.table_name,
            "STALE_AFTER_HOURS": str(stale_after_hours),
        },
        "grants": [
            grant(["dynamodb:Scan"], [parcels.table_arn]),
            grant(["dynamodb:PutItem"], [reports.table_arn]),
        ],
    },
)

pulumi.export("parcel_events_topic_arn", parcel_events.topic_arn)
pulumi.export("parcels_table", parcels.table_name)
pulumi.export("notices_table", notices.table_name)
pulumi.export("reports_table", reports.table_name)
pulumi.export("stale_parcels_function", stale_parcels.function_name)
pulumi.export("alarm_topic_arn", alarms.topic_arn)
