"""For each policy: a minimal deployment that violates it (the policy names each offending resource and says how
to fix it) and a compliant variant it accepts. The resources are declared with pulumi-aws under offline mocks,
so the property names the policies read are the SDK's own."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from guard_harness import POLICIES, declared

ROLE_ARN = "arn:aws:iam::123456789012:role/guard"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
STAR_RESOURCE_REASON = "X-Ray trace writes have no resource-level scope"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_plain_http(action: str, resource: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": action,
                    "Resource": resource,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def function(name: str, **overrides: Any) -> aws.lambda_.Function:
    """A function that satisfies every resource policy unless ``overrides`` say otherwise (None unsets)."""
    args: dict[str, Any] = {
        "name": name,
        "role": ROLE_ARN,
        "runtime": "python3.13",
        "handler": "app.handler",
        "architectures": ["arm64"],
        "memory_size": 256,
        "timeout": 30,
        "tracing_config": {"mode": "Active"},
        "logging_config": {"log_format": "JSON"},
    }
    args.update(overrides)
    return aws.lambda_.Function(name, **args)


def log_group(fn_name: str, **overrides: Any) -> aws.cloudwatch.LogGroup:
    args: dict[str, Any] = {"name": f"/aws/lambda/{fn_name}", "retention_in_days": 30, **overrides}
    return aws.cloudwatch.LogGroup(f"{fn_name}-logs", **args)


def redrive_to(dlq: aws.sqs.Queue) -> pulumi.Output[str]:
    return dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5}))


def table(name: str, **overrides: Any) -> aws.dynamodb.Table:
    args: dict[str, Any] = {
        "name": name,
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "attributes": [{"name": "id", "type": "S"}],
        "point_in_time_recovery": {"enabled": True},
        **overrides,
    }
    return aws.dynamodb.Table(name, **args)


def alarm(name: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]], **overrides: Any) -> None:
    args: dict[str, Any] = {
        "namespace": "AWS/Lambda",
        "metric_name": metric,
        "dimensions": dimensions,
        "statistic": "Sum",
        "period": 60,
        "evaluation_periods": 1,
        "threshold": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "alarm_actions": [TOPIC_ARN],
        **overrides,
    }
    aws.cloudwatch.MetricAlarm(name, **args)


def schedule(name: str, target_arn: pulumi.Input[str], **target: Any) -> aws.scheduler.Schedule:
    return aws.scheduler.Schedule(
        name,
        schedule_expression="rate(5 minutes)",
        flexible_time_window={"mode": "OFF"},
        target={"arn": target_arn, "role_arn": ROLE_ARN, **target},
    )


# --- Lambda


def sizing_broken() -> None:
    function("unsized", memory_size=None, timeout=None)


def sizing_ok() -> None:
    function("sized")


def runtime_broken() -> None:
    function("old", runtime="python3.12")


def runtime_ok() -> None:
    function("current")


def tracing_broken() -> None:
    function("untraced", tracing_config=None)
    function("passthrough", tracing_config={"mode": "PassThrough"})


def tracing_ok() -> None:
    function("traced")


def arm64_broken() -> None:
    function("intel", architectures=["x86_64"])
    function("unspecified", architectures=None)


def arm64_ok() -> None:
    function("graviton")


def json_logs_broken() -> None:
    function("text", logging_config={"log_format": "Text"})


def json_logs_ok() -> None:
    function("structured")


def permission_broken() -> None:
    target = function("target")
    aws.lambda_.Permission("open", action="lambda:*", function=target.name, principal="*")
    aws.lambda_.Permission(
        "unscoped", action="lambda:InvokeFunction", function=target.name, principal="sns.amazonaws.com"
    )


def permission_ok() -> None:
    target = function("target")
    topic = aws.sns.Topic("events")
    aws.lambda_.Permission(
        "scoped",
        action="lambda:InvokeFunction",
        function=target.name,
        principal="sns.amazonaws.com",
        source_arn=topic.arn,
    )


def log_group_broken() -> None:
    function("unlogged")
    function("forever", logging_config={"log_format": "JSON", "log_group": "/custom/forever"})
    aws.cloudwatch.LogGroup("forever-logs", name="/custom/forever")


def log_group_ok() -> None:
    logs = log_group("logged")
    function("logged", logging_config={"log_format": "JSON", "log_group": logs.name})
    function("default-group")
    log_group("default-group")


def _async_functions(with_destination: bool) -> None:
    failures = aws.sqs.Queue("failures", message_retention_seconds=1209600)
    job = function("job")
    schedule("every-5-minutes", job.arn)
    listener = function("listener")
    topic = aws.sns.Topic("events")
    aws.sns.TopicSubscription("listener-subscription", topic=topic.arn, protocol="lambda", endpoint=listener.arn)
    poller = function("poller")  # polled by a mapping: errors go back to the mapping, exempt
    work = aws.sqs.Queue("work")
    aws.lambda_.EventSourceMapping("poller-mapping", event_source_arn=work.arn, function_name=poller.arn)
    for fn, name in ((job, "job"), (listener, "listener")):
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=fn.name,
            maximum_retry_attempts=2,
            destination_config={"on_failure": {"destination": failures.arn}} if with_destination else None,
        )


def async_broken() -> None:
    _async_functions(with_destination=False)
    sns_only = function("sns-only")
    aws.lambda_.Permission(
        "sns-invokes",
        action="lambda:InvokeFunction",
        function=sns_only.name,
        principal="sns.amazonaws.com",
        source_arn=TOPIC_ARN,
    )


def async_ok() -> None:
    _async_functions(with_destination=True)
    dlq = aws.sqs.Queue("sns-only-dlq")
    sns_only = function("sns-only", dead_letter_config={"target_arn": dlq.arn})
    aws.lambda_.Permission(
        "sns-invokes",
        action="lambda:InvokeFunction",
        function=sns_only.name,
        principal="sns.amazonaws.com",
        source_arn=TOPIC_ARN,
    )


# --- SQS


def sqs_encryption_broken() -> None:
    aws.sqs.Queue("plain", sqs_managed_sse_enabled=False)


def sqs_encryption_ok() -> None:
    aws.sqs.Queue("sse", sqs_managed_sse_enabled=True)
    aws.sqs.Queue("kms", kms_master_key_id=KEY_ARN)


def redrive_broken() -> None:
    aws.sqs.Queue("work")


def redrive_ok() -> None:
    dlq = aws.sqs.Queue("work-dlq")
    aws.sqs.Queue("work", redrive_policy=redrive_to(dlq))


def dlq_retention_broken() -> None:
    dlq = aws.sqs.Queue("short-dlq")
    aws.sqs.Queue("work", redrive_policy=redrive_to(dlq))
    failures = aws.sqs.Queue("failures", message_retention_seconds=86400)
    aws.lambda_.FunctionEventInvokeConfig(
        "job-async", function_name="job", destination_config={"on_failure": {"destination": failures.arn}}
    )


def dlq_retention_ok() -> None:
    dlq = aws.sqs.Queue("short-dlq", message_retention_seconds=1209600)
    aws.sqs.Queue("work", redrive_policy=redrive_to(dlq))


def sqs_tls_broken() -> None:
    allow_only = aws.sqs.Queue("allow-only")
    aws.sqs.QueuePolicy(
        "allow-only-policy",
        queue_url=allow_only.url,
        policy=allow_only.arn.apply(
            lambda arn: document(
                {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage"}
                | {"Resource": arn}
            )
        ),
    )
    aws.sqs.Queue("bare")


def sqs_tls_ok() -> None:
    queue = aws.sqs.Queue("tls-only")
    aws.sqs.QueuePolicy("tls-only-policy", queue_url=queue.url, policy=deny_plain_http("sqs:*", queue.arn))


def _polled(visibility: int) -> None:
    fn = function("slow", timeout=60)
    queue = aws.sqs.Queue("jobs", visibility_timeout_seconds=visibility)
    aws.lambda_.EventSourceMapping("jobs-mapping", event_source_arn=queue.arn, function_name=fn.arn)


def visibility_broken() -> None:
    _polled(120)


def visibility_ok() -> None:
    _polled(360)


# --- SNS


def sns_encryption_broken() -> None:
    aws.sns.Topic("plain")


def sns_encryption_ok() -> None:
    aws.sns.Topic("encrypted", kms_master_key_id="alias/aws/sns")


def sns_tls_broken() -> None:
    aws.sns.Topic("open")


def sns_tls_ok() -> None:
    topic = aws.sns.Topic("tls-only")
    aws.sns.TopicPolicy("tls-only-policy", arn=topic.arn, policy=deny_plain_http("sns:Publish", topic.arn))


def subscription_broken() -> None:
    topic = aws.sns.Topic("alarms")
    aws.sns.TopicSubscription("oncall", topic=topic.arn, protocol="email", endpoint="oncall@example.com")


def subscription_ok() -> None:
    topic = aws.sns.Topic("alarms")
    dlq = aws.sqs.Queue("oncall-dlq")
    aws.sns.TopicSubscription(
        "oncall",
        topic=topic.arn,
        protocol="email",
        endpoint="oncall@example.com",
        redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
    )


# --- DynamoDB


def pitr_broken() -> None:
    table("orders", point_in_time_recovery=None)


def pitr_ok() -> None:
    table("orders")


def table_encryption_broken() -> None:
    table("orders", server_side_encryption={"enabled": False, "kms_key_arn": KEY_ARN})


def table_encryption_ok() -> None:
    table("orders", server_side_encryption={"enabled": True, "kms_key_arn": KEY_ARN})
    table("owned")


def _table_alarms(complete: bool) -> None:
    orders = table("orders")
    throttles = ("ReadThrottleEvents", "WriteThrottleEvents") if complete else ("ReadThrottleEvents",)
    for metric in throttles:
        alarm(f"orders-{metric}", metric, {"TableName": orders.name}, namespace="AWS/DynamoDB")
    if complete:
        aws.cloudwatch.MetricAlarm(
            "orders-system-errors",
            metric_queries=[
                {
                    "id": f"m{i}",
                    "metric": {
                        "namespace": "AWS/DynamoDB",
                        "metric_name": "SystemErrors",
                        "dimensions": {"TableName": orders.name, "Operation": operation},
                        "stat": "Sum",
                        "period": 300,
                    },
                }
                for i, operation in enumerate(("GetItem", "PutItem"))
            ]
            + [{"id": "total", "expression": "SUM([m0,m1])", "return_data": True}],
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            alarm_actions=[TOPIC_ARN],
        )


def table_alarms_broken() -> None:
    _table_alarms(complete=False)


def table_alarms_ok() -> None:
    _table_alarms(complete=True)


# --- event source mappings


def stream_broken() -> None:
    orders = table("orders", stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES")
    fn = function("projection")
    aws.lambda_.EventSourceMapping(
        "projection-mapping", event_source_arn=orders.stream_arn, function_name=fn.arn, starting_position="LATEST"
    )
    aws.lambda_.EventSourceMapping(
        "infinite-mapping",
        event_source_arn=orders.stream_arn,
        function_name=fn.arn,
        starting_position="LATEST",
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=-1,
        maximum_record_age_in_seconds=-1,
        destination_config={"on_failure": {"destination_arn": "arn:aws:sqs:us-east-1:123456789012:failures"}},
    )


def stream_ok() -> None:
    orders = table("orders", stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES")
    fn = function("projection")
    failures = aws.sqs.Queue("failures")
    aws.lambda_.EventSourceMapping(
        "projection-mapping",
        event_source_arn=orders.stream_arn,
        function_name=fn.arn,
        starting_position="TRIM_HORIZON",
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=10000,
        maximum_record_age_in_seconds=21600,
        destination_config={"on_failure": {"destination_arn": failures.arn}},
    )


def partial_batch_broken() -> None:
    queue = aws.sqs.Queue("work")
    aws.lambda_.EventSourceMapping("work-mapping", event_source_arn=queue.arn, function_name="consumer")


def partial_batch_ok() -> None:
    queue = aws.sqs.Queue("work")
    aws.lambda_.EventSourceMapping(
        "work-mapping",
        event_source_arn=queue.arn,
        function_name="consumer",
        function_response_types=["ReportBatchItemFailures"],
    )


# --- Step Functions


def machine(name: str, definition: pulumi.Input[str] = "{}", **overrides: Any) -> aws.sfn.StateMachine:
    args: dict[str, Any] = {
        "role_arn": ROLE_ARN,
        "definition": definition,
        "logging_configuration": {
            "level": "ALL",
            "include_execution_data": True,
            "log_destination": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/flow:*",
        },
        "tracing_configuration": {"enabled": True},
        **overrides,
    }
    return aws.sfn.StateMachine(name, **args)


def sfn_logging_broken() -> None:
    machine("errors-only", logging_configuration={"level": "ERROR", "include_execution_data": False})


def sfn_logging_ok() -> None:
    machine("flow")


def sfn_tracing_broken() -> None:
    machine("untraced", tracing_configuration=None)


def sfn_tracing_ok() -> None:
    machine("flow")


def _tasks(timeouts: tuple[int | None, int | None]) -> None:
    step = function("step", timeout=30)

    def task(arn: str, timeout: int | None) -> dict[str, Any]:
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": arn, "Payload.$": "$"},
            "End": True,
        }
        return state | ({"TimeoutSeconds": timeout} if timeout is not None else {})

    def definition(arn: str) -> str:
        parallel = {"Type": "Parallel", "Branches": [{"StartAt": "nested", "States": {"nested": task(arn, None)}}]}
        nested = parallel["Branches"][0]["States"]["nested"]
        if timeouts[1] is not None:
            nested["TimeoutSeconds"] = timeouts[1]
        first = task(arn, timeouts[0]) | {"Next": "fan", "End": None}
        first.pop("End")
        return json.dumps({"StartAt": "first", "States": {"first": first, "fan": parallel | {"End": True}}})

    machine("flow", step.arn.apply(definition))


def task_timeouts_broken() -> None:
    _tasks((30, None))


def task_timeouts_ok() -> None:
    _tasks((35, 35))


# --- Scheduler and EventBridge


def scheduler_broken() -> None:
    schedule("bare", "arn:aws:lambda:us-east-1:123456789012:function:job")


def scheduler_ok() -> None:
    dlq = aws.sqs.Queue("job-dlq")
    schedule(
        "covered",
        "arn:aws:lambda:us-east-1:123456789012:function:job",
        retry_policy={"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
        dead_letter_config={"arn": dlq.arn},
    )


def event_target_broken() -> None:
    aws.cloudwatch.EventTarget("bare", rule="nightly", arn="arn:aws:lambda:us-east-1:123456789012:function:job")


def event_target_ok() -> None:
    dlq = aws.sqs.Queue("job-dlq")
    aws.cloudwatch.EventTarget(
        "covered",
        rule="nightly",
        arn="arn:aws:lambda:us-east-1:123456789012:function:job",
        retry_policy={"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
        dead_letter_config={"arn": dlq.arn},
    )


# --- IAM


def lambda_role(name: str, **overrides: Any) -> aws.iam.Role:
    trust = document({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    return aws.iam.Role(name, assume_role_policy=trust, **overrides)


def managed_broken() -> None:
    role = lambda_role("managed", managed_policy_arns=["arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"])
    aws.iam.RolePolicyAttachment(
        "attached", role=role.name, policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    aws.iam.PolicyAttachment("shared", roles=[role.name], policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess")


def managed_ok() -> None:
    role = lambda_role("inline")
    aws.iam.RolePolicy(
        "inline-policy",
        role=role.id,
        policy=document({"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:::t"}),
    )


def wildcard_broken() -> None:
    role = lambda_role("greedy")
    aws.iam.RolePolicy(
        "greedy-policy",
        role=role.id,
        policy=document(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"},
            {"Effect": "Allow", "Action": ["dynamodb:Get*"], "Resource": "arn:aws:dynamodb:::table/t"},
        ),
    )
    queue = aws.sqs.Queue("shared")
    aws.sqs.QueuePolicy(
        "shared-policy",
        queue_url=queue.url,
        policy=queue.arn.apply(
            lambda arn: document(
                {"Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "sqs:*", "Resource": arn}
            )
        ),
    )


def wildcard_ok() -> None:
    role = lambda_role("named")
    aws.iam.RolePolicy(
        "named-policy",
        role=role.id,
        policy=document({"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:::table/t"}),
    )
    queue = aws.sqs.Queue("shared")
    aws.sqs.QueuePolicy("shared-policy", queue_url=queue.url, policy=deny_plain_http("sqs:*", queue.arn))


def star_broken() -> None:
    role = lambda_role("broad")
    aws.iam.RolePolicy(
        "broad-policy",
        role=role.id,
        policy=document({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}),
    )


def star_ok() -> None:
    role = lambda_role("tracing", inline_policies=[{"name": "xray", "policy": document()}])
    aws.iam.RolePolicy(
        "tracing-policy",
        role=role.id,
        policy=document({"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}),
    )
    aws.kms.Key(  # in a key policy, Resource "*" is the key itself
        "key",
        enable_key_rotation=True,
        policy=document({"Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "kms:Decrypt", "Resource": "*"}),
    )


# --- KMS


def rotation_broken() -> None:
    aws.kms.Key("static")


def rotation_ok() -> None:
    aws.kms.Key("rotating", enable_key_rotation=True)
    aws.kms.Key("signing", customer_master_key_spec="RSA_2048", key_usage="SIGN_VERIFY")  # cannot rotate


def keys_broken() -> None:
    table("orders")
    aws.sqs.Queue("work", sqs_managed_sse_enabled=True)
    aws.sns.Topic("events", kms_master_key_id="alias/aws/sns")
    aws.cloudwatch.LogGroup("logs", retention_in_days=30)


def keys_ok() -> None:
    table("orders", server_side_encryption={"enabled": True, "kms_key_arn": KEY_ARN})
    aws.sqs.Queue("work", kms_master_key_id=KEY_ARN)
    aws.sns.Topic("events", kms_master_key_id=KEY_ARN)
    aws.cloudwatch.LogGroup("logs", retention_in_days=30, kms_key_id=KEY_ARN)


# --- CloudWatch


def alarm_actions_broken() -> None:
    alarm("silent", "Errors", {"FunctionName": "job"}, alarm_actions=None)
    alarm("muted", "Errors", {"FunctionName": "job"}, actions_enabled=False)


def alarm_actions_ok() -> None:
    alarm("heard", "Errors", {"FunctionName": "job"})


def retention_broken() -> None:
    aws.cloudwatch.LogGroup("forever")


def retention_ok() -> None:
    aws.cloudwatch.LogGroup("kept", retention_in_days=30)


def _watched(complete: bool) -> None:
    fn = function("unwatched")
    orders = table("unwatched-table")
    dlq = aws.sqs.Queue("unwatched-dlq", message_retention_seconds=1209600)
    aws.sqs.Queue("work", redrive_policy=redrive_to(dlq))  # a work queue: alarms are not required on it
    if complete:
        alarm("fn-errors", "Errors", {"FunctionName": fn.name})
        alarm("table-throttles", "ReadThrottleEvents", {"TableName": orders.name}, namespace="AWS/DynamoDB")
        alarm("dlq-depth", "ApproximateNumberOfMessagesVisible", {"QueueName": dlq.name}, namespace="AWS/SQS")


def alarmed_broken() -> None:
    _watched(complete=False)


def alarmed_ok() -> None:
    _watched(complete=True)


# --- provider


def tags_broken() -> None:
    aws.Provider("untagged", region="us-east-1", default_tags={"tags": {"project": "orders"}})


def tags_ok() -> None:
    tags = {"project": "orders", "stack": "dev", "owner": "platform", "cost-center": "cc-1"}
    aws.Provider("tagged", region="us-east-1", default_tags={"tags": tags})


@dataclass(frozen=True)
class Case:
    """A policy, a deployment breaking it on the ``offenders`` (resource names) and a compliant variant."""

    policy: str
    broken: Callable[[], None]
    compliant: Callable[[], None]
    offenders: tuple[str, ...]
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


REQUIRE_KEYS = {"customer-managed-keys": {"requireCustomerKeys": True}}
CASES = [
    Case("lambda-explicit-memory-and-timeout", sizing_broken, sizing_ok, ("unsized",)),
    Case("lambda-latest-runtime", runtime_broken, runtime_ok, ("old",)),
    Case("lambda-xray-tracing", tracing_broken, tracing_ok, ("untraced", "passthrough")),
    Case("lambda-arm64", arm64_broken, arm64_ok, ("intel", "unspecified")),
    Case("lambda-json-logs", json_logs_broken, json_logs_ok, ("text",)),
    Case("lambda-permission-no-wildcards", permission_broken, permission_ok, ("open", "unscoped")),
    Case("lambda-log-group-retention", log_group_broken, log_group_ok, ("unlogged", "forever")),
    Case("lambda-async-failure-destination", async_broken, async_ok, ("job", "listener", "sns-only")),
    Case("sqs-encryption", sqs_encryption_broken, sqs_encryption_ok, ("plain",)),
    Case("sqs-redrive-policy", redrive_broken, redrive_ok, ("work",)),
    Case("sqs-dlq-retention", dlq_retention_broken, dlq_retention_ok, ("short-dlq", "failures")),
    Case("sqs-tls-only", sqs_tls_broken, sqs_tls_ok, ("allow-only", "bare")),
    Case("sqs-visibility-timeout", visibility_broken, visibility_ok, ("jobs",)),
    Case("sns-encryption", sns_encryption_broken, sns_encryption_ok, ("plain",)),
    Case("sns-tls-only", sns_tls_broken, sns_tls_ok, ("open",)),
    Case("sns-subscription-redrive", subscription_broken, subscription_ok, ("oncall",)),
    Case("dynamodb-pitr", pitr_broken, pitr_ok, ("orders",)),
    Case("dynamodb-encryption", table_encryption_broken, table_encryption_ok, ("orders",)),
    Case("dynamodb-alarms", table_alarms_broken, table_alarms_ok, ("orders",)),
    Case("stream-mapping-failure-handling", stream_broken, stream_ok, ("projection-mapping", "infinite-mapping")),
    Case("sqs-mapping-partial-batch", partial_batch_broken, partial_batch_ok, ("work-mapping",)),
    Case("sfn-logging-all", sfn_logging_broken, sfn_logging_ok, ("errors-only",)),
    Case("sfn-xray-tracing", sfn_tracing_broken, sfn_tracing_ok, ("untraced",)),
    Case("sfn-task-timeouts", task_timeouts_broken, task_timeouts_ok, ("flow",)),
    Case("scheduler-retry-and-dlq", scheduler_broken, scheduler_ok, ("bare",)),
    Case("eventbridge-target-retry-and-dlq", event_target_broken, event_target_ok, ("bare",)),
    Case("iam-no-managed-policies", managed_broken, managed_ok, ("managed", "attached", "shared")),
    Case("iam-no-wildcard-actions", wildcard_broken, wildcard_ok, ("greedy-policy", "shared-policy")),
    Case("iam-star-resource-allow-list", star_broken, star_ok, ("broad-policy",)),
    Case("kms-key-rotation", rotation_broken, rotation_ok, ("static",)),
    Case("customer-managed-keys", keys_broken, keys_ok, ("orders", "work", "events", "logs"), REQUIRE_KEYS),
    Case("cloudwatch-alarm-actions", alarm_actions_broken, alarm_actions_ok, ("silent", "muted")),
    Case("cloudwatch-log-group-retention", retention_broken, retention_ok, ("forever",)),
    Case(
        "cloudwatch-resources-alarmed",
        alarmed_broken,
        alarmed_ok,
        ("unwatched", "unwatched-table", "unwatched-dlq"),
    ),
    Case("provider-default-tags", tags_broken, tags_ok, ("untagged",)),
]


def test_every_policy_has_a_case() -> None:
    assert sorted(c.policy for c in CASES) == sorted(POLICIES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.policy)
def test_the_policy_names_each_offender_and_how_to_fix_it(case: Case) -> None:
    found = declared(case.broken).violations(case.policy, case.config)
    assert sorted({f.name for f in found}) == sorted(case.offenders)
    for violation in found:
        assert f"'{violation.name}'" in violation.message
        assert "Fix: " in violation.message
        problem, fix = violation.message.split("Fix: ", 1)
        assert problem.strip() and fix.strip()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.policy)
def test_the_compliant_variant_passes(case: Case) -> None:
    assert [f.message for f in declared(case.compliant).violations(case.policy, case.config)] == []


def test_the_configured_runtime_is_the_one_required() -> None:
    config = {"lambda-latest-runtime": {"runtime": "python3.12"}}
    assert [f.name for f in declared(runtime_broken).violations("lambda-latest-runtime", config)] == []
    assert [f.name for f in declared(runtime_ok).violations("lambda-latest-runtime", config)] == ["current"]


def test_customer_keys_are_required_only_when_configured() -> None:
    assert declared(keys_broken).violations("customer-managed-keys") == []
    assert declared(keys_broken).violations("customer-managed-keys", {"customer-managed-keys": {}}) == []


def test_the_required_tags_are_configurable() -> None:
    config = {"provider-default-tags": {"requiredTags": ["project"]}}
    assert declared(tags_broken).violations("provider-default-tags", config) == []
    config = {"provider-default-tags": {"requiredTags": ["project", "team"]}}
    [found] = declared(tags_ok).violations("provider-default-tags", config)
    assert "does not tag resources with team" in found.message


def test_the_default_provider_is_judged_from_the_stack_config() -> None:
    def queue() -> None:
        aws.sqs.Queue("work", sqs_managed_sse_enabled=True)

    tags = {"project": "orders", "stack": "dev", "owner": "platform", "cost-center": "cc-1"}
    tagged = {"aws:region": "us-east-1", "aws:defaultTags": json.dumps({"tags": tags})}
    assert declared(queue, tagged).violations("provider-default-tags") == []
    [found] = declared(queue, {"aws:region": "us-east-1"}).violations("provider-default-tags")
    assert found.name == "default"
