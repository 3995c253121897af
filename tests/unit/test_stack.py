"""The whole program (__main__.py) evaluated under mocks with the committed stack configs."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, definition_worst_case, iam_findings

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, run_declarations, run_program, stack_config
from stack_settings import ConfigError

TABLES = ["idempotency", "inventory", "reservations", "payments", "invoices", "notifications"]


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(OfflineMocks(), request.param, stack_config(request.param))


def test_one_explicit_provider_with_default_tags_serves_every_resource(stack: ProgramRun):
    [provider] = stack.of_type("pulumi:providers:aws")
    config = stack_config(stack.stack)
    tags = provider.inputs["defaultTags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    assert tags == {
        "tags": {
            "project": "serverless-orders",
            "stack": stack.stack,
            "owner": config["serverless-orders:owner"],
            "cost-center": config["serverless-orders:costCenter"],
        }
    }
    custom = [r for r in stack.resources if r.custom and r.type != "pulumi:providers:aws"]
    assert custom
    unserved = [r.name for r in custom if not r.provider.startswith(provider.urn)]
    assert unserved == []


def test_shared_tables(stack: ProgramRun):
    tables = {t.name: t.inputs for t in stack.of_type("aws:dynamodb/table:Table")}
    assert set(TABLES) <= set(tables)
    assert tables["idempotency"]["hashKey"] == "id"
    assert tables["idempotency"]["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert tables["notifications"]["hashKey"] == "order_id"
    assert tables["notifications"]["rangeKey"] == "event_type"
    for name in ("inventory", "reservations", "payments", "invoices"):
        assert tables[name]["hashKey"] == ("sku" if name == "inventory" else "order_id")
    protected = stack.stack == "prod"
    assert {t["deletionProtectionEnabled"] for t in tables.values()} == {protected}
    assert all(t["pointInTimeRecovery"] == {"enabled": True} for t in tables.values())


def test_inventory_is_seeded_from_config(stack: ProgramRun):
    expected = json.loads(stack_config(stack.stack)["serverless-orders:inventory"])
    items = {}
    for item in stack.of_type("aws:dynamodb/tableItem:TableItem"):
        body = json.loads(item.inputs["item"])
        items[body["sku"]["S"]] = int(body["available"]["N"])
        assert item.inputs["tableName"] == "inventory"
    assert items == expected


def test_alarm_topic_and_email(stack: ProgramRun):
    alarm_topic = next(c for c in stack.resources if c.type == "serverless-patterns:index:AlarmTopic")
    assert [t.name for t in stack.children(alarm_topic) if t.type == "aws:sns/topic:Topic"] == ["alarms"]
    subscriptions = [s for s in stack.children(alarm_topic) if s.type == "aws:sns/topicSubscription:TopicSubscription"]
    if stack.stack == "prod":
        assert [s.inputs["endpoint"] for s in subscriptions] == ["oncall@example.com"]
    else:
        assert subscriptions == []


def test_outputs(stack: ProgramRun):
    assert stack.outputs["alarm_topic_arn"] == "arn:aws:sns:us-east-1:123456789012:alarms"
    for table in TABLES:
        assert stack.outputs[f"{table}_table"] == table


def test_no_wildcard_action_or_unlisted_star_resource_anywhere(stack: ProgramRun):
    scanned, findings = iam_findings(stack)
    assert scanned >= 3  # key policy (2) and topic policy (1) at least
    assert findings == []


def test_the_iam_scan_catches_a_bad_policy_and_sees_function_roles():
    from serverless_patterns import Function

    def build() -> None:
        Function(
            "ok",
            {
                "handler_package": "sample",
                "handler": "app.handler",
                "alarm_topic_arn": TOPIC,
                "handlers_root": FIXTURE_HANDLERS,
            },
        )
        role = aws.iam.Role(
            "raw",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        aws.iam.RolePolicy(
            "raw",
            role=role.id,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
                    ],
                }
            ),
        )
        aws.iam.RolePolicyAttachment(
            "managed", role=role.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess"
        )

    run = run_declarations(OfflineMocks(), build)
    scanned, findings = iam_findings(run)
    assert scanned == 6  # the function's policy (2) and trust (1), the raw policy (2) and trust (1)
    assert sorted(findings) == [  # registration order varies between runs
        "managed: managed policy attachment arn:aws:iam::aws:policy/AdministratorAccess",
        "raw: action 's3:*' is a wildcard; name each action",
        "raw: dynamodb:GetItem on Resource '*'",
        "raw: s3:* on Resource '*'",
    ]


def test_bad_config_fails_before_any_resource():
    config = {**stack_config("dev"), "serverless-orders:logRetentionDays": "45", "serverless-orders:bogus": "1"}
    with pytest.raises(ConfigError) as caught:
        run_program(OfflineMocks(), "dev", config)
    assert [p.split(":")[0] for p in caught.value.problems] == ["bogus", "logRetentionDays"]
    assert pulumi.get_stack() == "dev"


SUBSCRIBERS = ["fulfilment", "invoicing", "notifications", "big-orders"]


def test_order_events_fanout_has_the_four_contract_subscribers(stack: ProgramRun):
    subscriptions = {
        s.name.removeprefix("order-events-").removesuffix("-subscription"): s.inputs
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("order-events-")
    }
    assert sorted(subscriptions) == sorted(SUBSCRIBERS)
    filters = {name: (json.loads(s["filterPolicy"]), s["filterPolicyScope"]) for name, s in subscriptions.items()}
    assert filters == {
        "fulfilment": ({"event_type": ["OrderPlaced"]}, "MessageAttributes"),
        "invoicing": ({"event_type": ["OrderConfirmed"]}, "MessageAttributes"),
        "notifications": ({"event_type": ["OrderConfirmed", "OrderCancelled", "OrderExpired"]}, "MessageAttributes"),
        "big-orders": ({"event_type": ["OrderPlaced"], "total": [{"numeric": [">=", 500]}]}, "MessageBody"),
    }
    assert stack.outputs["order_events_topic_arn"] == "arn:aws:sns:us-east-1:123456789012:order-events"
    assert stack.outputs["subscriber_dlq_urls"] == {
        name: f"https://sqs.us-east-1.amazonaws.com/123456789012/order-events-{name}-dlq" for name in SUBSCRIBERS
    }


def test_each_subscriber_writes_only_what_it_owns(stack: ProgramRun):
    def grants(subscriber: str) -> dict[str, str]:
        policy = stack.named(f"order-events-{subscriber}-consumer-policy")
        return {
            action: statement["Resource"]
            for statement in json.loads(policy.inputs["policy"])["Statement"]
            for action in statement["Action"]
            if not action.startswith(("logs:", "xray:", "sqs:", "kms:"))
        }

    checkout = "arn:aws:states:us-east-1:123456789012:stateMachine:serverless-orders-" + stack.stack + "-checkout"
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/{}".format
    assert grants("fulfilment") == {"states:StartExecution": checkout}
    assert grants("invoicing") == {"dynamodb:PutItem": table("invoices")}
    assert grants("notifications") == {"dynamodb:PutItem": table("notifications")}
    assert grants("big-orders") == {
        action: table("idempotency")
        for action in ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    }
    functions = {f.name: f.inputs for f in stack.of_type("aws:lambda/function:Function")}
    assert functions["order-events-fulfilment-consumer"]["environment"]["variables"]["CHECKOUT_STATE_MACHINE_ARN"] == (
        checkout
    )
    assert functions["order-events-big-orders-consumer"]["handler"] == "order_events.big_orders.handler"


def test_orders_cqrs_feeds_the_fanout_topic(stack: ProgramRun):
    write = stack.named("orders-table", "aws:dynamodb/table:Table").inputs
    assert write["hashKey"] == "order_id"
    assert write["streamViewType"] == "NEW_AND_OLD_IMAGES"
    [index] = write["globalSecondaryIndexes"]
    assert index["keySchemas"] == [
        {"attributeName": "status", "keyType": "HASH"},
        {"attributeName": "created_at", "keyType": "RANGE"},
    ]
    assert write["deletionProtectionEnabled"] is (stack.stack == "prod")
    publisher = json.loads(stack.named("orders-order-events-projection-policy").inputs["policy"])
    publishes = [s["Resource"] for s in publisher["Statement"] if "sns:Publish" in s["Action"]]
    assert publishes == [stack.outputs["order_events_topic_arn"]]
    functions = {f.name: f.inputs for f in stack.of_type("aws:lambda/function:Function")}
    assert (
        functions["orders-order-events-projection"]["environment"]["variables"]["ORDER_EVENTS_TOPIC_ARN"]
        == (stack.outputs["order_events_topic_arn"])
    )
    summary_env = functions["orders-customer-summary-projection"]["environment"]["variables"]
    assert summary_env["CUSTOMER_ORDERS_TABLE"] == "orders-customer-orders"
    assert summary_env["PROJECTION_MARKERS_TABLE"] == "orders-projection-markers"
    assert stack.outputs["place_order_function"] == f"serverless-orders-{stack.stack}-orders-place-order"
    assert stack.outputs["orders_table"] == "orders-table"
    assert stack.outputs["customer_orders_table"] == "orders-customer-orders"


def test_fulfilment_starts_the_checkout_saga_the_stack_declares(stack: ProgramRun):
    saga_arn = stack.outputs["checkout_state_machine_arn"]
    assert saga_arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:serverless-orders-{stack.stack}-checkout"
    functions = {f.name: f.inputs for f in stack.of_type("aws:lambda/function:Function")}
    assert functions["order-events-fulfilment-consumer"]["environment"]["variables"]["CHECKOUT_STATE_MACHINE_ARN"] == (
        saga_arn
    )
    definition = json.loads(stack.named("checkout", "aws:sfn/stateMachine:StateMachine").inputs["definition"])
    assert [s for s in definition["States"] if definition["States"][s]["Type"] == "Task"] == [
        "reserve-inventory",
        "compensate-reserve-inventory",
        "charge-payment",
        "compensate-charge-payment",
        "confirm-order",
        "finalize",
    ]
    assert definition["TimeoutSeconds"] < 15 * 60, "shorter than pendingOrderTtlMinutes"
    pivot = definition["States"]["confirm-order"]
    assert pivot["Retry"][0] == {"ErrorEquals": ["OrderNotPending"], "MaxAttempts": 0}, "a refusal is definite"
    assert pivot["Retry"][1]["ErrorEquals"] == ["States.ALL"], "the pivot is retried on every other error"
    assert pivot["Catch"][-1]["Next"] == "PivotFailed", "and never compensated"
    # every Task retried to exhaustion must still end before the execution times out
    assert definition_worst_case(definition) <= definition["TimeoutSeconds"]
    limit = functions["checkout-charge-payment"]["environment"]["variables"]["PAYMENT_LIMIT"]
    assert float(limit) == 1000


def test_fulfilment_starts_the_saga_in_the_providers_partition():
    config = {**stack_config("dev"), "aws:region": "cn-north-1"}
    run = run_program(OfflineMocks(region="cn-north-1"), "dev", config)
    saga_arn = run.named("checkout", "aws:sfn/stateMachine:StateMachine").state["arn"]
    assert saga_arn.startswith("arn:aws-cn:states:cn-north-1:")
    assert run.outputs["checkout_state_machine_arn"] == saga_arn
    fulfilment = run.named("order-events-fulfilment-consumer", "aws:lambda/function:Function").inputs
    assert fulfilment["environment"]["variables"]["CHECKOUT_STATE_MACHINE_ARN"] == saga_arn


def test_saga_steps_write_only_their_tables(stack: ProgramRun):
    def writes(function: str) -> dict[str, list[str]]:
        policy = json.loads(stack.named(f"checkout-{function}-policy").inputs["policy"])
        found: dict[str, list[str]] = {}
        for statement in policy["Statement"]:
            for action in statement["Action"]:
                if action.startswith("dynamodb:"):
                    resources = statement["Resource"]
                    found.setdefault(action, []).extend([resources] if isinstance(resources, str) else resources)
        return {k: sorted(v) for k, v in found.items()}

    table = "arn:aws:dynamodb:us-east-1:123456789012:table/{}".format
    assert writes("reserve-inventory") == {
        "dynamodb:ConditionCheckItem": [table("orders-table")],
        "dynamodb:PutItem": [table("reservations")],
        "dynamodb:UpdateItem": [table("inventory")],
    }
    assert writes("charge-payment") == {"dynamodb:PutItem": [table("payments")]}
    assert writes("charge-payment-compensation") == {
        "dynamodb:ConditionCheckItem": [table("orders-table")],  # never refund a CONFIRMED order
        "dynamodb:UpdateItem": [table("payments")],
    }
    assert writes("reserve-inventory-compensation") == {
        "dynamodb:ConditionCheckItem": [table("orders-table")],  # never release a CONFIRMED order's stock
        "dynamodb:GetItem": [table("reservations")],
        "dynamodb:UpdateItem": [table("inventory"), table("reservations")],
    }
    assert writes("final") == {"dynamodb:UpdateItem": [table("orders-table")]}


def test_expire_orders_job(stack: ProgramRun):
    schedule = stack.named("expire-orders", "aws:scheduler/schedule:Schedule").inputs
    assert schedule["scheduleExpression"] == stack_config(stack.stack)["serverless-orders:expireOrdersSchedule"]
    assert stack.outputs["expire_orders_schedule"] == f"serverless-orders-{stack.stack}-expire-orders"
    assert stack.outputs["expire_orders_schedule_group"] == f"serverless-orders-{stack.stack}-expire-orders"
    assert stack.outputs["expire_orders_function"] == f"serverless-orders-{stack.stack}-expire-orders-function"
    policy = json.loads(stack.named("expire-orders-function-policy").inputs["policy"])
    grants: dict[str, list[str]] = {}
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            if action.startswith("dynamodb:"):
                grants.setdefault(action, []).append(statement["Resource"])
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/{}".format
    assert grants["dynamodb:Query"] == [table("orders-table") + "/index/status-created_at"]
    assert sorted(grants["dynamodb:UpdateItem"]) == [table("idempotency"), table("orders-table")]
    assert grants["dynamodb:PutItem"] == [table("idempotency")], "it writes orders only through UpdateItem"
    env = stack.named("expire-orders-function", "aws:lambda/function:Function").inputs["environment"]["variables"]
    assert env["PENDING_ORDER_TTL_MINUTES"] == "15"
    assert env["STATUS_INDEX"] == "status-created_at"


def test_bad_expiry_schedule_is_a_config_error():
    config = {**stack_config("dev"), "serverless-orders:expireOrdersSchedule": "cron(0 12 * * MON *)"}
    with pytest.raises(ConfigError, match="expireOrdersSchedule: cron: exactly one of day-of-month and day-of-week"):
        run_program(OfflineMocks(), "dev", config)


def test_the_orders_app_imports_only_the_librarys_public_api():
    import ast

    import serverless_patterns

    root = Path(__file__).resolve().parents[2]
    for path in (root / "__main__.py", root / "stack_settings.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("serverless_patterns"):
                assert node.module == "serverless_patterns", f"{path.name} imports {node.module}"
                assert {alias.name for alias in node.names} <= set(serverless_patterns.__all__)


def test_prod_keeps_its_data_under_one_rotating_customer_key_and_dev_under_awss(stack: ProgramRun):
    keys = {k.name: k for k in stack.of_type("aws:kms/key:Key")}
    tables = stack.of_type("aws:dynamodb/table:Table")
    queues = stack.of_type("aws:sqs/queue:Queue")
    log_groups = stack.of_type("aws:cloudwatch/logGroup:LogGroup")
    [topic] = [t for t in stack.of_type("aws:sns/topic:Topic") if t.name == "order-events"]
    if stack.stack == "dev":
        assert set(keys) == {"alarms-key"}
        assert not any("serverSideEncryption" in t.inputs for t in tables)
        return
    data_key = keys["data-key"]
    assert data_key.inputs["enableKeyRotation"] is True
    arn = data_key.state["arn"]
    assert all(t.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": arn} for t in tables)
    assert all(t.protect for t in tables), "deletion protection and Pulumi's protect"
    assert all(q.inputs["kmsMasterKeyId"] == arn for q in queues if q.name != "alarms-email-dlq")
    assert (
        stack.named("alarms-email-dlq", "aws:sqs/queue:Queue").inputs["kmsMasterKeyId"]
        == keys["alarms-key"].state["arn"]
    )
    assert topic.inputs["kmsMasterKeyId"] == arn
    assert all(g.inputs.get("kmsKeyId") == arn for g in log_groups), [
        g.name for g in log_groups if not g.inputs.get("kmsKeyId")
    ]
    policy = {s["Sid"]: s for s in json.loads(data_key.inputs["policy"])["Statement"]}
    logs = policy["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"}
    }
    sns = policy["SnsDeliversIntoEncryptedQueues"]
    assert sns["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sns["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    roles = {
        p.name.removesuffix("-policy"): json.loads(p.inputs["policy"])
        for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    touching = ("-function", "-consumer", "-projection", "-place-order")
    for name, document in roles.items():
        if name.endswith(touching) or (name.startswith("checkout-") and name != "checkout"):
            actions = {a for st in document["Statement"] if arn in json.dumps(st["Resource"]) for a in st["Action"]}
            assert "kms:Decrypt" in actions, f"{name} touches data under the key without it"
