"""IAM in the local cloud: handlers' AWS calls authorised against their roles as the program declared them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cloud_helpers import function, order, place

from localcloud.deploy import Deployment, RoleRecord
from localcloud.engine import LocalCloud
from localcloud.iam_actions import checks_of
from localcloud.iam_enforcement import IamEnforcement, UnsupportedPolicy
from localcloud.iam_report import iam_report, render_iam_report
from scenarios import demo

ACCOUNT, REGION = "123456789012", "us-east-1"
PLACE_ORDER = function("orders-place-order")
PROJECTION = function("orders-order-events-projection")


def _revoke(cloud: LocalCloud, function_name: str, action: str) -> str:
    """Take ``action`` out of every inline policy of the function's role record; returns the role's name."""
    role = cloud.deployment.role_of(function_name)
    assert role is not None
    for name, document in role.policies.items():
        policy = json.loads(document)
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != action]
        policy["Statement"] = [s for s in policy["Statement"] if s["Action"]]
        role.policies[name] = json.dumps(policy)
    return role.name


def _table_arn(cloud: LocalCloud, output: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{cloud.outputs[output]}"


def test_the_demo_workload_is_denied_nothing():
    with LocalCloud.started("dev") as cloud:
        report = demo.DemoReport("dev")
        demo._drive(cloud, report, None)  # the demo's own driving, without its report
        assert cloud.iam.denials == []
        assert cloud.iam.unchecked == set()
        exercised = cloud.iam.exercised
        callers = {role.name for c in cloud.calls.calls if (role := cloud.deployment.role_of(c.function))}
    assert ("dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-table") in exercised[
        "orders-place-order-role"
    ]
    assert ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:order-events") in exercised[
        "orders-order-events-projection-role"
    ]
    assert set(exercised) == callers and len(callers) > 10  # every role whose function called AWS


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as started:
        yield started


def test_a_missing_grant_denies_exactly_that_call_as_aws_does(cloud: LocalCloud):
    role = _revoke(cloud, PLACE_ORDER, "dynamodb:PutItem")
    command = {"customer_id": "c-1", "items": [{"sku": "sku-apple", "qty": 1}], "total": 10, "request_id": "r-1"}

    invocation = cloud.invoke(PLACE_ORDER, command)

    table = _table_arn(cloud, "orders_table")
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{PLACE_ORDER} is not authorized to perform: "
        f"dynamodb:PutItem on resource: {table} because no identity-based policy allows the dynamodb:PutItem action"
    )
    assert invocation.error is not None
    assert invocation.error.error_type == "ClientError"  # DynamoDB's model has no AccessDeniedException class
    assert (
        invocation.error.error_message
        == f"An error occurred (AccessDeniedException) when calling the PutItem operation: {message}"
    )
    [denial] = cloud.iam.denials
    assert (denial.function, denial.role, denial.action, denial.resource) == (
        PLACE_ORDER,
        role,
        "dynamodb:PutItem",
        table,
    )
    assert [c.action for c in cloud.calls.by_function(PLACE_ORDER)] == ["PutItem"]  # made, recorded, refused
    assert cloud.client("dynamodb").scan(TableName=cloud.outputs["orders_table"])["Items"] == []
    assert cloud.iam.exercised.get(role, set()) == set()


def test_the_grant_restored_the_same_call_succeeds(cloud: LocalCloud):
    role = cloud.deployment.role_of(PLACE_ORDER)
    assert role is not None
    declared = dict(role.policies)
    _revoke(cloud, PLACE_ORDER, "dynamodb:PutItem")
    command = {"customer_id": "c-1", "items": [{"sku": "sku-apple", "qty": 1}], "total": 10, "request_id": "r-1"}
    assert cloud.invoke(PLACE_ORDER, command).error is not None
    role.policies.update(declared)

    result = place(cloud, "r-2")

    assert order(cloud, result["order_id"])["status"] == "PENDING"
    assert len(cloud.iam.denials) == 1


def test_the_handlers_error_handling_sees_the_denial(cloud: LocalCloud):
    role = _revoke(cloud, PROJECTION, "sns:Publish")

    place(cloud, "r-3")
    for stream in cloud.stream_sources:  # one delivery of the order's stream record to each projection
        stream.poll()

    topic = cloud.outputs["order_events_topic_arn"]
    expected = (
        f"An error occurred (AuthorizationError) when calling the PublishBatch operation: User: "
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{PROJECTION} is not authorized to perform: SNS:Publish on "
        f"resource: {topic} because no identity-based policy allows the SNS:Publish action"
    )
    failures = [json.loads(line) for line in cloud.logs.logs[PROJECTION] if "PublishBatch failed" in line]
    assert failures
    assert "AuthorizationErrorException: " + expected in failures[0]["exception"]
    assert [(d.action, d.resource) for d in cloud.iam.denials] == [("sns:Publish", topic)]
    [projected] = [i for i in cloud.stats.invocations if i.function == PROJECTION]
    assert projected.error is None
    assert len(projected.result["batchItemFailures"]) == 1  # the record is retried, as the handler decided


def test_without_enforcement_a_denial_is_only_recorded():
    with LocalCloud.started("dev", enforce_iam=False) as cloud:
        _revoke(cloud, PLACE_ORDER, "dynamodb:PutItem")
        result = place(cloud, "r-4")
        assert order(cloud, result["order_id"])["status"] == "PENDING"
        [denial] = cloud.iam.denials
        assert denial.action == "dynamodb:PutItem"


# --- what a call is authorised as, and the evaluator's verdicts (no cloud) --------------------------------------


def _checks(service: str, operation: str, **params: object) -> list[tuple[str, str]] | None:
    return checks_of(service, operation, params, REGION, ACCOUNT)


def test_transactions_and_batches_are_authorised_as_aws_documents():
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    transaction = [
        {"ConditionCheck": {"TableName": "orders"}},
        {"Put": {"TableName": "reservations"}},
        {"Update": {"TableName": "inventory"}},
        {"Delete": {"TableName": "holds"}},
    ]
    assert _checks("dynamodb", "TransactWriteItems", TransactItems=transaction) == [
        ("dynamodb:ConditionCheckItem", f"{table}/orders"),
        ("dynamodb:PutItem", f"{table}/reservations"),
        ("dynamodb:UpdateItem", f"{table}/inventory"),
        ("dynamodb:DeleteItem", f"{table}/holds"),
    ]
    assert _checks("dynamodb", "BatchWriteItem", RequestItems={"a": [], "b": []}) == [
        ("dynamodb:BatchWriteItem", f"{table}/a"),
        ("dynamodb:BatchWriteItem", f"{table}/b"),
    ]
    assert _checks("dynamodb", "Query", TableName="orders", IndexName="by-status") == [
        ("dynamodb:Query", f"{table}/orders/index/by-status")
    ]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:events"
    assert _checks("sns", "PublishBatch", TopicArn=topic, PublishBatchRequestEntries=[]) == [("sns:Publish", topic)]
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"
    assert _checks("sqs", "SendMessageBatch", QueueUrl=url) == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")
    ]
    assert _checks("lambda", "Invoke", FunctionName="worker", Qualifier="live") == [
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker:live")
    ]
    assert _checks("sts", "GetCallerIdentity") == []
    assert _checks("dynamodb", "ExecuteStatement", Statement="SELECT * FROM orders") is None


def _enforcement(*statements: dict[str, object]) -> tuple[IamEnforcement, RoleRecord]:
    role = RoleRecord("r", f"arn:aws:iam::{ACCOUNT}:role/r")
    role.policies["p"] = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    deployment = Deployment(REGION, roles={"r": role})
    return IamEnforcement(deployment), role


def test_an_explicit_deny_wins_and_actions_match_case_insensitively():
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    enforcement, role = _enforcement(
        {"Effect": "Allow", "Action": ["DynamoDB:putitem", "dynamodb:GetItem"], "Resource": f"{table[:-6]}*"},
        {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": table},
    )
    assert enforcement.decision(role, "dynamodb:PutItem", table) == "allowed"
    assert enforcement.decision(role, "dynamodb:GetItem", table) == "explicit deny"
    assert enforcement.decision(role, "dynamodb:DeleteItem", table) == "implicit deny"
    assert enforcement.decision(role, "dynamodb:PutItem", table.replace(ACCOUNT, "999999999999")) == "implicit deny"


def test_a_role_the_evaluator_cannot_judge_is_not_enforced_and_says_why():
    enforcement, role = _enforcement(
        {
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Orders"}},
        }
    )
    with pytest.raises(UnsupportedPolicy, match="Condition"):
        enforcement.decision(role, "cloudwatch:PutMetricData", "*")
    enforcement.deployment.function_inputs["f"] = {"role": role.arn}
    enforcement.validate()  # a program with such a role still deploys
    assert enforcement.unjudged == {"r": "role r: statement ? uses Condition, not evaluated here"}
    params = {"Namespace": "Orders", "MetricData": []}
    assert enforcement.authorize("f", "cloudwatch", "PutMetricData", params, REGION) is None
    assert ("f", "cloudwatch", "PutMetricData") in enforcement.unchecked
    assert enforcement.denials == []


# --- the report: granted, exercised, denied, justified by Lambda's own use, unused -------------------------------


def test_the_report_sets_each_grant_against_what_used_it(cloud: LocalCloud):
    place(cloud, "r-5")
    _revoke(cloud, function("checkout-confirm-order"), "dynamodb:UpdateItem")
    cloud.drain()

    reports = {r.role: r for r in iam_report(cloud)}

    orders_table = _table_arn(cloud, "orders_table")
    placing = reports["orders-place-order-role"]
    assert placing.exercised == {("dynamodb:PutItem", orders_table)}
    assert placing.unused == {("dynamodb:GetItem", orders_table)}  # read only when a request_id comes again
    assert {a for a, _ in placing.justified} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
    assert not placing.ok
    fulfilment = reports["order-events-fulfilment-consumer-role"]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:order-events-fulfilment"
    assert fulfilment.justified[("sqs:ReceiveMessage", queue)] == "the event source mapping polls the queue"
    assert fulfilment.ok
    confirming = reports["checkout-confirm-order-role"]
    assert {(d.action, d.resource) for d in confirming.denied} == {("dynamodb:UpdateItem", orders_table)}
    assert not confirming.ok
    assert "DENIED     dynamodb:UpdateItem on " + orders_table in render_iam_report(list(reports.values()))


def test_a_transaction_is_refused_whole_for_the_one_item_not_allowed():
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    enforcement, _ = _enforcement({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": f"{table}/a"})
    enforcement.deployment.function_inputs["f"] = {"role": f"arn:aws:iam::{ACCOUNT}:role/r"}
    items = [{"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}}]

    denial = enforcement.authorize("f", "dynamodb", "TransactWriteItems", {"TransactItems": items}, REGION)

    assert denial is not None
    assert (denial.action, denial.resource) == ("dynamodb:UpdateItem", f"{table}/b")
    assert enforcement.exercised == {}
    assert enforcement.authorize("f", "dynamodb", "TransactWriteItems", {"TransactItems": items[:1]}, REGION) is None
    assert enforcement.exercised == {"r": {("dynamodb:PutItem", f"{table}/a")}}


def test_a_failed_run_deletes_its_idempotency_record_with_the_grant_the_report_justifies(cloud: LocalCloud):
    """The path the demo does not take: the idempotent work raises (its Query is throttled) after Powertools saved
    the IN_PROGRESS record, so Powertools deletes the record (a retry may run again): DeleteItem, allowed."""
    expire = function("expire-orders-function")
    cloud.inject_fault(expire, cloud.call_faults.throttle(1))  # the call after the idempotency PutItem

    failed = cloud.invoke(expire, {"scheduled_time": "2026-01-01T00:00:00Z"})

    idempotency = _table_arn(cloud, "idempotency_table")
    assert failed.error is not None
    assert cloud.call_faults.throttled == [(expire, "dynamodb", "Query")]
    assert cloud.iam.denials == []
    assert ("dynamodb:DeleteItem", idempotency) in cloud.iam.exercised["expire-orders-function-role"]
    assert cloud.client("dynamodb").scan(TableName=cloud.outputs["idempotency_table"])["Items"] == []
    big_orders = {r.role: r for r in iam_report(cloud)}["order-events-big-orders-consumer-role"]  # not invoked
    assert big_orders.justified[("dynamodb:DeleteItem", idempotency)].startswith("powertools deletes the in progress")


def test_a_retried_confirm_reads_its_order_with_the_grant_the_report_justifies(cloud: LocalCloud):
    """confirm-order's GetItem: the conditional confirm fails on a confirmed order, which the retry then reads."""
    order_id = place(cloud, "r-retry")["order_id"]
    cloud.drain()
    confirm = function("checkout-confirm-order")
    orders_table = _table_arn(cloud, "orders_table")
    first = {r.role: r for r in iam_report(cloud)}["checkout-confirm-order-role"]
    assert first.justified[("dynamodb:GetItem", orders_table)].startswith("a retried confirm")

    retried = cloud.invoke(confirm, {"order_id": order_id})

    assert retried.error is None and retried.result == {"status": "CONFIRMED"}
    assert cloud.iam.denials == []
    assert ("dynamodb:GetItem", orders_table) in cloud.iam.exercised["checkout-confirm-order-role"]
