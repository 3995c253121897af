"""The orders application: config → shared blocks → pattern components → stack outputs.

Read top to bottom, this file is the picture of the stack (see ../README.md for the diagram).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components import AlarmTopic, Table
from stack_settings import settings_from_pulumi

settings = settings_from_pulumi()

# One explicit provider: every component gets it, so every resource carries the stack's tags.
provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.default_tags})
on_aws = pulumi.ResourceOptions(providers=[provider])

# Every alarm in the stack notifies this topic (encrypted with a key CloudWatch may use).
alarms = AlarmTopic("alarms", {"email": settings.alarm_email} if settings.alarm_email else {}, opts=on_aws)

# Shared tables, handed to the components that use them.
protect = settings.deletion_protection
idempotency = Table(
    "idempotency",
    {"partition_key": {"name": "id", "type": "S"}, "ttl_attribute": "expiration", "deletion_protection": protect},
    opts=on_aws,
)
inventory = Table(
    "inventory", {"partition_key": {"name": "sku", "type": "S"}, "deletion_protection": protect}, opts=on_aws
)
reservations = Table(
    "reservations", {"partition_key": {"name": "order_id", "type": "S"}, "deletion_protection": protect}, opts=on_aws
)
payments = Table(
    "payments", {"partition_key": {"name": "order_id", "type": "S"}, "deletion_protection": protect}, opts=on_aws
)
invoices = Table(
    "invoices", {"partition_key": {"name": "order_id", "type": "S"}, "deletion_protection": protect}, opts=on_aws
)
notifications = Table(
    "notifications",
    {
        "partition_key": {"name": "order_id", "type": "S"},
        "sort_key": {"name": "event_type", "type": "S"},
        "deletion_protection": protect,
    },
    opts=on_aws,
)

# Stock seeded from config (sku → count) when an item is created; live stock is never reset by a later `pulumi up`.
for sku, count in sorted(settings.inventory.items()):
    aws.dynamodb.TableItem(
        f"inventory-{sku}",
        table_name=inventory.table_name,
        hash_key="sku",
        item=json.dumps({"sku": {"S": sku}, "available": {"N": str(count)}}),
        opts=pulumi.ResourceOptions(parent=inventory, provider=provider, ignore_changes=["item"]),
    )

pulumi.export("alarm_topic_arn", alarms.topic_arn)
pulumi.export("idempotency_table", idempotency.table_name)
pulumi.export("inventory_table", inventory.table_name)
pulumi.export("reservations_table", reservations.table_name)
pulumi.export("payments_table", payments.table_name)
pulumi.export("invoices_table", invoices.table_name)
pulumi.export("notifications_table", notifications.table_name)
