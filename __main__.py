"""The orders application: config → shared blocks → pattern components → stack outputs.

Read top to bottom, this file is the picture of the stack (see ../README.md for the diagram).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from serverless_patterns import (
    AlarmTopic,
    Cqrs,
    CustomerKey,
    FanOut,
    Saga,
    ScheduledJob,
    Table,
    TableArgs,
    grant,
    idempotency_grant,
    kms_use_grant,
    state_machine_arn_for,
)
from stack_settings import settings_from_pulumi

settings = settings_from_pulumi()

# One explicit provider: every component gets it, so every resource carries the stack's tags.
provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.default_tags})
on_aws = pulumi.ResourceOptions(providers=[provider])

# Every alarm in the stack notifies this topic (encrypted with a key CloudWatch may use).
alarms = AlarmTopic("alarms", {"email": settings.alarm_email} if settings.alarm_email else {}, opts=on_aws)

# Data at rest: with customerKeys (prod), one rotating customer key for every table, queue, topic and log group,
# and every function that touches them is granted it; without (dev), AWS's own keys.
data_key = (
    CustomerKey("data", {"description": "Encrypts the orders app's data at rest."}, opts=on_aws)
    if settings.customer_keys
    else None
)
data_key_arn = data_key.key_arn if data_key is not None else None
key_grants = [kms_use_grant(data_key.key_arn)] if data_key is not None else []


# Shared tables, handed to the components that use them; each one alarmed on throttles and DynamoDB errors.
def shared_table(name: str, key: str, sort_key: str | None = None, ttl_attribute: str | None = None) -> Table:
    args: TableArgs = {
        "alarm_topic_arn": alarms.topic_arn,
        "partition_key": {"name": key, "type": "S"},
        "deletion_protection": settings.deletion_protection,
        "kms_key_arn": data_key_arn,
    }
    if sort_key is not None:
        args["sort_key"] = {"name": sort_key, "type": "S"}
    if ttl_attribute is not None:
        args["ttl_attribute"] = ttl_attribute
    return Table(name, args, opts=on_aws)


idempotency = shared_table("idempotency", "id", ttl_attribute="expiration")
inventory = shared_table("inventory", "sku")
reservations = shared_table("reservations", "order_id")
payments = shared_table("payments", "order_id")
invoices = shared_table("invoices", "order_id")
notifications = shared_table("notifications", "order_id", sort_key="event_type")

# Stock seeded from config (sku → count) when an item is created; live stock is never reset by a later `pulumi up`.
for sku, count in sorted(settings.inventory.items()):
    aws.dynamodb.TableItem(
        f"inventory-{sku}",
        table_name=inventory.table_name,
        hash_key="sku",
        item=json.dumps({"sku": {"S": sku}, "available": {"N": str(count)}}),
        opts=pulumi.ResourceOptions(parent=inventory, provider=provider, ignore_changes=["item"]),
    )

# The checkout saga's ARN is known before it exists (its name is fixed), so fulfilment can start it
# although the saga is declared below, after the orders table it writes.
on_provider = pulumi.InvokeOutputOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=on_provider).account_id
partition = aws.get_partition_output(opts=on_provider).partition
checkout_state_machine_arn = state_machine_arn_for("checkout", settings.region, account_id, partition)

# Domain events fanned out to their subscribers, each with its own queue, DLQ and filter.
BIG_ORDER_TOTAL = 500
order_events = FanOut(
    "order-events",
    {
        "alarm_topic_arn": alarms.topic_arn,
        "kms_key_arn": data_key_arn,
        "log_retention_days": settings.log_retention_days,
        "log_level": settings.log_level,
        "subscribers": [
            {
                "name": "fulfilment",
                "handler_package": "order_events",
                "handler": "fulfilment.handler",
                "filter_policy": {"event_type": ["OrderPlaced"]},
                # A burst of orders starts at most this many checkouts at once: it protects Step Functions'
                # StartExecution quota and the tables the saga writes.
                "maximum_concurrency": 10,
                "environment": {"CHECKOUT_STATE_MACHINE_ARN": checkout_state_machine_arn},
                "grants": [grant(["states:StartExecution"], [checkout_state_machine_arn])],
            },
            {
                "name": "invoicing",
                "handler_package": "order_events",
                "handler": "invoicing.handler",
                "filter_policy": {"event_type": ["OrderConfirmed"]},
                "environment": {"INVOICES_TABLE": invoices.table_name},
                "grants": [grant(["dynamodb:PutItem"], [invoices.table_arn]), *key_grants],
            },
            {
                "name": "notifications",
                "handler_package": "order_events",
                "handler": "notifications.handler",
                "filter_policy": {"event_type": ["OrderConfirmed", "OrderCancelled", "OrderExpired"]},
                "environment": {"NOTIFICATIONS_TABLE": notifications.table_name},
                "grants": [grant(["dynamodb:PutItem"], [notifications.table_arn]), *key_grants],
            },
            {
                "name": "big-orders",
                "handler_package": "order_events",
                "handler": "big_orders.handler",
                "filter_policy": {"event_type": ["OrderPlaced"], "total": [{"numeric": [">=", BIG_ORDER_TOTAL]}]},
                "filter_policy_scope": "MessageBody",
                "environment": {"IDEMPOTENCY_TABLE": idempotency.table_name},
                "grants": [idempotency_grant(idempotency.table_arn), *key_grants],
            },
        ],
    },
    opts=on_aws,
)

STATUS_INDEX = "status-created_at"  # PENDING orders by age, for the expiry job

# Orders: place-order writes the write model; its stream feeds the customer summary and the domain events.
orders = Cqrs(
    "orders",
    {
        "alarm_topic_arn": alarms.topic_arn,
        "deletion_protection": settings.deletion_protection,
        "kms_key_arn": data_key_arn,
        "log_retention_days": settings.log_retention_days,
        "log_level": settings.log_level,
        "write_table": {
            "partition_key": {"name": "order_id", "type": "S"},
            "global_indexes": [
                {
                    "name": STATUS_INDEX,
                    "partition_key": {"name": "status", "type": "S"},
                    "sort_key": {"name": "created_at", "type": "S"},
                }
            ],
        },
        "read_models": [
            {"name": "customer-orders", "partition_key": {"name": "customer_id", "type": "S"}},
            {"name": "projection-markers", "partition_key": {"name": "marker", "type": "S"}},
        ],
        "command_handlers": [
            {
                "name": "place-order",
                "handler_package": "orders",
                "handler": "place_order.handler",
                # A conditional put; a repeated request_id reads the order it placed. It never updates one.
                "write_actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
            }
        ],
        "projections": [
            {
                "name": "customer-summary",
                "handler_package": "orders",
                "handler": "customer_summary.handler",
                "read_models": ["customer-orders", "projection-markers"],
                # One transaction: put the transition's marker (conditional), add to the customer's counters.
                "read_model_actions": {
                    "customer-orders": ["dynamodb:UpdateItem"],
                    "projection-markers": ["dynamodb:PutItem"],
                },
            },
            {
                "name": "order-events",
                "handler_package": "orders",
                "handler": "publisher.handler",
                "environment": {"ORDER_EVENTS_TOPIC_ARN": order_events.topic_arn},
                "grants": order_events.publish_grants(),
            },
        ],
    },
    opts=on_aws,
)

# Checkout: reserve stock, charge, confirm; on failure compensate in reverse and mark the order cancelled.
# confirm-order is the pivot: once it may have committed the saga only goes forward (retried on every error,
# timeouts included), and the compensations refuse to touch a CONFIRMED order. Each step is a few DynamoDB calls:
# 10 s timeouts keep the worst case of every retry (663 s) inside the 720 s execution timeout, itself shorter than
# the pending-order TTL. Expiry can still race a slow saga; the conditional writes on the order keep that safe.
CHECKOUT_STEP_TIMEOUT_SECONDS = 10
CHECKOUT_TIMEOUT_SECONDS = 720
orders_table_arn = orders.write_table_arn
saga_tables: dict[str, pulumi.Input[str]] = {
    "ORDERS_TABLE": orders.write_table_name,
    "INVENTORY_TABLE": inventory.table_name,
    "RESERVATIONS_TABLE": reservations.table_name,
    "PAYMENTS_TABLE": payments.table_name,
}
checkout = Saga(
    "checkout",
    {
        "alarm_topic_arn": alarms.topic_arn,
        "kms_key_arn": data_key_arn,
        "log_retention_days": settings.log_retention_days,
        "log_level": settings.log_level,
        "execution_timeout_seconds": CHECKOUT_TIMEOUT_SECONDS,
        "execution_timeout_bound_seconds": settings.pending_order_ttl_minutes * 60,
        "pivot": "confirm-order",
        "steps": [
            {
                "name": "reserve-inventory",
                "action": {
                    "handler_package": "checkout",
                    "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
                    "handler": "inventory.reserve",
                    "environment": saga_tables,
                    "grants": [
                        grant(["dynamodb:ConditionCheckItem"], [orders_table_arn]),
                        grant(["dynamodb:PutItem"], [reservations.table_arn]),
                        grant(["dynamodb:UpdateItem"], [inventory.table_arn]),
                        *key_grants,
                    ],
                },
                "compensation": {
                    "handler_package": "checkout",
                    "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
                    "handler": "inventory.release",
                    "environment": saga_tables,
                    "grants": [
                        grant(["dynamodb:ConditionCheckItem"], [orders_table_arn]),
                        grant(["dynamodb:GetItem", "dynamodb:UpdateItem"], [reservations.table_arn]),
                        grant(["dynamodb:UpdateItem"], [inventory.table_arn]),
                        *key_grants,
                    ],
                },
                "business_errors": ["OutOfStock", "OrderNotPending"],
            },
            {
                "name": "charge-payment",
                "action": {
                    "handler_package": "checkout",
                    "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
                    "handler": "payment.charge",
                    "environment": {**saga_tables, "PAYMENT_LIMIT": str(settings.payment_limit)},
                    "grants": [grant(["dynamodb:PutItem"], [payments.table_arn]), *key_grants],
                },
                "compensation": {
                    "handler_package": "checkout",
                    "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
                    "handler": "payment.refund",
                    "environment": saga_tables,
                    "grants": [
                        grant(["dynamodb:ConditionCheckItem"], [orders_table_arn]),
                        grant(["dynamodb:UpdateItem"], [payments.table_arn]),
                        *key_grants,
                    ],
                },
                "business_errors": ["PaymentDeclined"],
            },
            {
                "name": "confirm-order",
                "action": {
                    "handler_package": "checkout",
                    "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
                    "handler": "order_status.confirm",
                    "environment": saga_tables,
                    "grants": [
                        grant(["dynamodb:UpdateItem"], [orders_table_arn]),
                        # Read only when the conditional confirm fails: a retried step finds its order confirmed.
                        grant(
                            ["dynamodb:GetItem"],
                            [orders_table_arn],
                            unexercised="a retried confirm whose order is no longer pending reads it",
                        ),
                        *key_grants,
                    ],
                },
                "business_errors": ["OrderNotPending"],
            },
        ],
        "final_handler": {
            "handler_package": "checkout",
            "timeout_seconds": CHECKOUT_STEP_TIMEOUT_SECONDS,
            "handler": "order_status.mark_cancelled",
            "environment": saga_tables,
            "grants": [grant(["dynamodb:UpdateItem"], [orders_table_arn]), *key_grants],
        },
    },
    opts=on_aws,
)

# Expiry: PENDING orders older than the TTL become EXPIRED, on a schedule, never two runs at once.
expire_orders = ScheduledJob(
    "expire-orders",
    {
        "schedule": settings.expire_orders_schedule,
        "handler_package": "expiry",
        "handler": "expire_orders.handler",
        "alarm_topic_arn": alarms.topic_arn,
        "timeout_seconds": 60,
        "log_retention_days": settings.log_retention_days,
        "log_level": settings.log_level,
        "environment": {
            "ORDERS_TABLE": orders.write_table_name,
            "STATUS_INDEX": STATUS_INDEX,
            "PENDING_ORDER_TTL_MINUTES": str(settings.pending_order_ttl_minutes),
            "IDEMPOTENCY_TABLE": idempotency.table_name,
        },
        "grants": [
            grant(["dynamodb:Query"], [pulumi.Output.concat(orders.write_table_arn, "/index/", STATUS_INDEX)]),
            grant(["dynamodb:UpdateItem"], [orders.write_table_arn]),
            idempotency_grant(idempotency.table_arn),
            *key_grants,
        ],
        "kms_key_arn": data_key_arn,
    },
    opts=on_aws,
)

pulumi.export("expire_orders_function", expire_orders.function_name)
pulumi.export("expire_orders_schedule", expire_orders.schedule_name)
pulumi.export("expire_orders_schedule_group", expire_orders.group_name)
pulumi.export("checkout_state_machine_arn", checkout.state_machine_arn)
pulumi.export("place_order_function", orders.command_functions["place-order"].function_name)
pulumi.export("orders_table", orders.write_table_name)
pulumi.export("customer_orders_table", orders.read_models["customer-orders"].table_name)
pulumi.export("alarm_topic_arn", alarms.topic_arn)
pulumi.export("idempotency_table", idempotency.table_name)
pulumi.export("inventory_table", inventory.table_name)
pulumi.export("reservations_table", reservations.table_name)
pulumi.export("payments_table", payments.table_name)
pulumi.export("invoices_table", invoices.table_name)
pulumi.export("notifications_table", notifications.table_name)
pulumi.export("order_events_topic_arn", order_events.topic_arn)
pulumi.export("subscriber_dlq_urls", {name: sub.dlq_url for name, sub in order_events.subscribers.items()})
