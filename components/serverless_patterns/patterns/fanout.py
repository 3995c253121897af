"""FanOut: one SNS topic → per subscriber an SQS queue with its DLQ → a Lambda consumer.

Each subscriber gets a queue block (SNS may send to its queue and, through the subscription's redrive policy,
to its DLQ, both scoped to this topic by ``aws:SourceArn``), a raw-delivery subscription with its filter policy,
and a function block polling the queue with partial batch responses. The queue's visibility timeout is at least
6 x the function timeout (AWS's guidance), so a message is not redelivered while a retried batch still runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.function import (
    DEFAULT_TIMEOUT_SECONDS,
    Function,
    FunctionArgs,
    component_function_args,
    function_problems,
)
from serverless_patterns.blocks.queue import (
    IDEMPOTENCY_EXPIRY_ENV,
    Queue,
    QueueArgs,
    queue_problems,
    redelivery_window_seconds,
)
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.filter_policy import FilterScope, filter_policy_problems
from serverless_patterns.internals.iam import Grant, grant, kms_use_grant
from serverless_patterns.internals.policies import deny_insecure_transport, resource_policy
from serverless_patterns.internals.validation import Problems

__all__ = ["FanOut", "FanOutArgs", "FanOutSubscriber", "SubscriberOutputs"]

VISIBILITY_FACTOR = 6
DEFAULT_BATCH_SIZE = 10
MAX_BATCH_WITHOUT_WINDOW = 10


class FanOutSubscriber(TypedDict):
    """One subscriber: its filter, its queue and its consumer Lambda."""

    name: str
    handler_package: str
    handler: str
    filter_policy: NotRequired[dict[str, Any]]  # [all messages] SNS filter policy as a JSON object
    filter_policy_scope: NotRequired[FilterScope]  # [MessageAttributes]
    batch_size: NotRequired[int]  # [10] 1..10000; above 10 needs a batching window
    batching_window_seconds: NotRequired[int]  # [0] 0..300
    maximum_concurrency: NotRequired[int]  # [unset] 2..1000
    max_receive_count: NotRequired[int]  # [5]
    visibility_timeout_seconds: NotRequired[int]  # [6 x timeout]
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]
    reserved_concurrency: NotRequired[int]


class FanOutArgs(TypedDict):
    subscribers: list[FanOutSubscriber]
    alarm_topic_arn: pulumi.Input[str]
    kms_key_arn: NotRequired[pulumi.Input[str]]  # [alias/aws/sns on the topic, SSE-SQS on queues]
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]  # [this project's handlers/]


@dataclass(frozen=True)
class SubscriberOutputs:
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]


_VALIDATION_ONLY_ARN = "arn:aws:sns:us-east-1:123456789012:validation-only"


def _function_args(sub: FanOutSubscriber, args: FanOutArgs) -> FunctionArgs:
    # A consumer's idempotency records outlive every way its messages can come back (a DLQ redrive included).
    return component_function_args(sub, args, {IDEMPOTENCY_EXPIRY_ENV: str(redelivery_window_seconds())})


def _subscriber_problems(index: int, sub: FanOutSubscriber, args: FanOutArgs) -> list[str]:
    where = f"subscribers[{index}] ({sub.get('name', '?')})"
    p = Problems(where)
    p.name("name", sub.get("name"))
    if "filter_policy" in sub:
        scope = sub.get("filter_policy_scope", "MessageAttributes")
        p.extend(f"filter_policy: {problem}" for problem in filter_policy_problems(sub["filter_policy"], scope))
    elif "filter_policy_scope" in sub:
        p.add("filter_policy_scope without a filter_policy")
    batch = sub.get("batch_size", DEFAULT_BATCH_SIZE)
    window = sub.get("batching_window_seconds", 0)
    p.int_range("batch_size", batch, 1, 10000)
    p.int_range("batching_window_seconds", window, 0, 300)
    if isinstance(batch, int) and isinstance(window, int) and batch > MAX_BATCH_WITHOUT_WINDOW and window == 0:
        p.add(f"batch_size {batch} above {MAX_BATCH_WITHOUT_WINDOW} needs batching_window_seconds > 0")
    if "maximum_concurrency" in sub:
        p.int_range("maximum_concurrency", sub["maximum_concurrency"], 2, 1000)
    timeout = sub.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if "visibility_timeout_seconds" in sub and isinstance(timeout, int):
        visibility = sub["visibility_timeout_seconds"]
        p.check(
            not isinstance(visibility, int) or visibility >= VISIBILITY_FACTOR * timeout,
            f"visibility_timeout_seconds {visibility} is shorter than {VISIBILITY_FACTOR} x the function timeout "
            f"({VISIBILITY_FACTOR * timeout}s)",
        )
    expiry = sub.get("environment", {}).get(IDEMPOTENCY_EXPIRY_ENV)
    if isinstance(expiry, str):
        p.check(
            expiry.isdigit() and int(expiry) >= redelivery_window_seconds(),
            f"environment {IDEMPOTENCY_EXPIRY_ENV} {expiry} is shorter than the {redelivery_window_seconds()}s a "
            "message can come back (DLQ retention + queue retention): a redrive would apply effects twice",
        )
    p.extend(function_problems(sub.get("name", "?"), _function_args(sub, args)))
    p.extend(queue_problems(_queue_args(sub, args, _VALIDATION_ONLY_ARN)))
    return [f"{where}: {problem}" for problem in p.items]


def _queue_args(sub: FanOutSubscriber, args: FanOutArgs, topic_arn: pulumi.Input[str]) -> QueueArgs:
    timeout = sub.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    queue: QueueArgs = {
        "alarm_topic_arn": args["alarm_topic_arn"],
        "visibility_timeout_seconds": sub.get("visibility_timeout_seconds", VISIBILITY_FACTOR * timeout),
        "senders": [{"service": "sns.amazonaws.com", "source_arn": topic_arn}],
        "dlq_senders": [{"service": "sns.amazonaws.com", "source_arn": topic_arn}],
    }
    if "max_receive_count" in sub:
        queue["max_receive_count"] = sub["max_receive_count"]
    if "kms_key_arn" in args:
        queue["kms_key_arn"] = args["kms_key_arn"]
    return queue


def fanout_problems(args: FanOutArgs) -> list[str]:
    subscribers = args.get("subscribers") or []
    problems: list[str] = []
    if not subscribers:
        problems.append("subscribers: at least one subscriber is required")
    names = [s.get("name") for s in subscribers]
    problems += [f"subscribers: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    for index, sub in enumerate(subscribers):
        problems += _subscriber_problems(index, sub, args)
    return problems


class FanOut(pulumi.ComponentResource):
    """SNS topic fanned out to filtered SQS → Lambda subscribers. See :class:`FanOutArgs`."""

    topic_arn: pulumi.Output[str]
    topic_name: pulumi.Output[str]
    subscribers: dict[str, SubscriberOutputs]

    def __init__(self, name: str, args: FanOutArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:FanOut", name, None, opts)
        problems = Problems(f"FanOut {name!r}")
        problems.extend(fanout_problems(args))
        problems.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        key = args.get("kms_key_arn")

        topic = aws.sns.Topic(name, kms_master_key_id=key if key is not None else "alias/aws/sns", opts=child)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=resource_policy([deny_insecure_transport(["sns:Publish", "sns:Subscribe"], topic.arn)]),
            opts=child,
        )
        metric_alarm(
            f"{name}-failed-notifications",
            AlarmSpec(
                "AWS/SNS",
                "NumberOfNotificationsFailed",
                {"TopicName": topic.name},
                1,
                "SNS failed to deliver notifications (redriven to the subscriber's DLQ when it has one).",
                period_seconds=300,
            ),
            args["alarm_topic_arn"],
            self,
        )

        self.subscribers = {}
        for sub in args["subscribers"]:
            self.subscribers[sub["name"]] = self._subscriber(name, sub, args, topic, key)

        self.topic_arn = topic.arn
        self.topic_name = topic.name
        self.register_outputs(
            {
                "topic_arn": topic.arn,
                "subscribers": {
                    n: {"queue_url": s.queue_url, "dlq_url": s.dlq_url, "function_name": s.function_name}
                    for n, s in self.subscribers.items()
                },
            }
        )

    def _subscriber(
        self,
        name: str,
        sub: FanOutSubscriber,
        args: FanOutArgs,
        topic: aws.sns.Topic,
        key: pulumi.Input[str] | None,
    ) -> SubscriberOutputs:
        prefix = f"{name}-{sub['name']}"
        child = pulumi.ResourceOptions(parent=self)
        queue = Queue(prefix, _queue_args(sub, args, topic.arn), opts=child)
        subscription_args: dict[str, Any] = {}
        if "filter_policy" in sub:
            subscription_args["filter_policy"] = json.dumps(sub["filter_policy"], sort_keys=True)
            subscription_args["filter_policy_scope"] = sub.get("filter_policy_scope", "MessageAttributes")
        aws.sns.TopicSubscription(
            f"{prefix}-subscription",
            topic=topic.arn,
            protocol="sqs",
            endpoint=queue.queue_arn,
            raw_message_delivery=True,
            redrive_policy=queue.dlq_arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue]),
            **subscription_args,
        )
        function_args = _function_args(sub, args)
        function_args["grants"] = [
            grant(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue.queue_arn]),
            *([kms_use_grant(key)] if key is not None else []),
            *function_args.get("grants", []),
        ]
        function = Function(f"{prefix}-consumer", function_args, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{prefix}-mapping",
            event_source_arn=queue.queue_arn,
            function_name=function.function_arn,
            batch_size=sub.get("batch_size", DEFAULT_BATCH_SIZE),
            maximum_batching_window_in_seconds=sub.get("batching_window_seconds", 0),
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": sub["maximum_concurrency"]}
            if "maximum_concurrency" in sub
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        return SubscriberOutputs(queue.queue_url, queue.queue_arn, queue.dlq_url, queue.dlq_arn, function.function_name)

    def publish_grants(self) -> list[Grant]:
        """What a publisher's role needs: ``sns:Publish`` (which also authorises PublishBatch) on this topic."""
        return [grant(["sns:Publish"], [self.topic_arn])]
