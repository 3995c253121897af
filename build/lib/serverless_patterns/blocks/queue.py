"""The queue block: an SQS queue with its dead-letter queue, encryption, TLS-only policies and alarms.

SSE-SQS by default, because SNS cannot deliver into a queue encrypted with the AWS-managed ``alias/aws/sqs`` key;
a customer key is optional (its key policy must then admit the delivering service; IAM roles that send or poll
need ``kms:GenerateDataKey``/``kms:Decrypt`` grants on it). Both queues deny non-TLS access and admit only the
service senders the caller names, each scoped by ``aws:SourceArn``.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.policies import deny_insecure_transport, resource_policy, service_may
from serverless_patterns.internals.validation import Problems

__all__ = [
    "DLQ_RETENTION_SECONDS",
    "IDEMPOTENCY_EXPIRY_ENV",
    "FailureQueue",
    "FailureQueueArgs",
    "Queue",
    "QueueArgs",
    "QueueSender",
    "queue_problems",
    "redelivery_window_seconds",
]

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum SQS allows
DEFAULT_RETENTION_SECONDS = 4 * 24 * 3600
#: The environment variable through which a pattern tells a consumer's idempotency records how long to live.
IDEMPOTENCY_EXPIRY_ENV = "IDEMPOTENCY_EXPIRY_SECONDS"


def redelivery_window_seconds(retention_seconds: int = DEFAULT_RETENTION_SECONDS) -> int:
    """How long after its first delivery a message can still come back to its consumer: a DLQ keeps a message
    14 days from its original enqueue, and a redrive puts it back in the source queue, where it can wait out
    that queue's retention. Idempotency records guarding the consumer's effects must live at least this long."""
    return DLQ_RETENTION_SECONDS + retention_seconds


DEFAULT_VISIBILITY_SECONDS = 30
DEFAULT_MAX_RECEIVE_COUNT = 5
DEFAULT_OLDEST_AGE_ALARM_SECONDS = 900
_SENDER_SERVICES = ("sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com", "s3.amazonaws.com")


class QueueSender(TypedDict):
    """An AWS service allowed to send to the queue, only on behalf of ``source_arn`` (e.g. an SNS topic)."""

    service: str
    source_arn: pulumi.Input[str]


class QueueArgs(TypedDict):
    alarm_topic_arn: pulumi.Input[str]
    visibility_timeout_seconds: NotRequired[int]  # [30] 0..43200
    max_receive_count: NotRequired[int]  # [5] 1..1000
    retention_seconds: NotRequired[int]  # [4 days] 60..14 days
    kms_key_arn: NotRequired[pulumi.Input[str]]  # [SSE-SQS]
    senders: NotRequired[list[QueueSender]]  # services allowed to send to the queue
    dlq_senders: NotRequired[list[QueueSender]]  # services allowed to send to the DLQ (e.g. SNS redrive)
    oldest_message_age_alarm_seconds: NotRequired[int]  # [900]


def _sender_problems(field: str, senders: list[QueueSender]) -> list[str]:
    p = Problems(field)
    for index, sender in enumerate(senders):
        p.one_of(f"{field}[{index}].service", sender.get("service"), _SENDER_SERVICES)
        p.check(bool(sender.get("source_arn")), f"{field}[{index}].source_arn is required")
    return p.items


def queue_problems(args: QueueArgs) -> list[str]:
    p = Problems("queue")
    p.int_range(
        "visibility_timeout_seconds", args.get("visibility_timeout_seconds", DEFAULT_VISIBILITY_SECONDS), 0, 43200
    )
    p.int_range("max_receive_count", args.get("max_receive_count", DEFAULT_MAX_RECEIVE_COUNT), 1, 1000)
    p.int_range(
        "retention_seconds", args.get("retention_seconds", DEFAULT_RETENTION_SECONDS), 60, DLQ_RETENTION_SECONDS
    )
    p.int_range(
        "oldest_message_age_alarm_seconds",
        args.get("oldest_message_age_alarm_seconds", DEFAULT_OLDEST_AGE_ALARM_SECONDS),
        60,
        1_209_600,
    )
    p.extend(_sender_problems("senders", args.get("senders", [])))
    p.extend(_sender_problems("dlq_senders", args.get("dlq_senders", [])))
    return p.items


def _queue_policy(queue_arn: pulumi.Output[str], senders: list[QueueSender]) -> pulumi.Output[str]:
    statements = [deny_insecure_transport(["sqs:*"], queue_arn)]
    statements.extend(
        service_may(
            f"AllowSender{i}",
            s["service"],
            ["sqs:SendMessage"],
            queue_arn,
            {"ArnEquals": {"aws:SourceArn": s["source_arn"]}},
        )
        for i, s in enumerate(senders)
    )
    return resource_policy(statements)


def _secured_queue(
    resource_name: str,
    key: pulumi.Input[str] | None,
    senders: list[QueueSender],
    parent: pulumi.Resource,
    **settings: Any,
) -> aws.sqs.Queue:
    """An SQS queue encrypted with SSE-SQS (or ``key``) and its TLS-only policy admitting ``senders``."""
    child = pulumi.ResourceOptions(parent=parent)
    queue = aws.sqs.Queue(
        resource_name,
        sqs_managed_sse_enabled=True if key is None else None,
        kms_master_key_id=key,
        kms_data_key_reuse_period_seconds=300 if key is not None else None,
        opts=child,
        **settings,
    )
    aws.sqs.QueuePolicy(
        f"{resource_name}-policy", queue_url=queue.url, policy=_queue_policy(queue.arn, senders), opts=child
    )
    return queue


def _depth_alarm(
    resource_name: str, queue: aws.sqs.Queue, description: str, topic: pulumi.Input[str], parent: pulumi.Resource
) -> None:
    metric_alarm(
        resource_name,
        AlarmSpec(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue.name},
            1,
            description,
            statistic="Maximum",
        ),
        topic,
        parent,
    )


class Queue(pulumi.ComponentResource):
    """A queue and its DLQ. See :class:`QueueArgs`."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:Queue", name, None, opts)
        problems = Problems(f"Queue {name!r}")
        problems.extend(queue_problems(args))
        problems.raise_if_any()
        key = args.get("kms_key_arn")
        max_receives = args.get("max_receive_count", DEFAULT_MAX_RECEIVE_COUNT)
        dlq = _secured_queue(
            f"{name}-dlq", key, args.get("dlq_senders", []), self, message_retention_seconds=DLQ_RETENTION_SECONDS
        )
        queue = _secured_queue(
            name,
            key,
            args.get("senders", []),
            self,
            visibility_timeout_seconds=args.get("visibility_timeout_seconds", DEFAULT_VISIBILITY_SECONDS),
            message_retention_seconds=args.get("retention_seconds", DEFAULT_RETENTION_SECONDS),
            receive_wait_time_seconds=20,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives})
            ),
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        topic = args["alarm_topic_arn"]
        _depth_alarm(
            f"{name}-dlq-depth",
            dlq,
            "Messages in the dead-letter queue: they failed processing and wait for a human.",
            topic,
            self,
        )
        age = args.get("oldest_message_age_alarm_seconds", DEFAULT_OLDEST_AGE_ALARM_SECONDS)
        metric_alarm(
            f"{name}-oldest-age",
            AlarmSpec(
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                {"QueueName": queue.name},
                age,
                f"The oldest message waited {age}s or more: consumers are behind or failing.",
                statistic="Maximum",
                period_seconds=300,
            ),
            topic,
            self,
        )

        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.dlq_url, self.dlq_arn, self.dlq_name = dlq.url, dlq.arn, dlq.name
        self.register_outputs({"queue_url": queue.url, "queue_arn": queue.arn, "dlq_url": dlq.url, "dlq_arn": dlq.arn})


class FailureQueueArgs(TypedDict):
    alarm_topic_arn: pulumi.Input[str]
    kms_key_arn: NotRequired[pulumi.Input[str]]  # [SSE-SQS]
    senders: NotRequired[list[QueueSender]]  # services that send failures on their own (not roles)


class FailureQueue(pulumi.ComponentResource):
    """A queue that only stores failures (stream or async on-failure records, a schedule's undeliverable events).

    It keeps messages 14 days (the maximum), has no DLQ of its own, and alarms as soon as it holds a message.
    Roles that send to it need ``sqs:SendMessage`` on ``queue_arn`` in their own policy.
    """

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]

    def __init__(self, name: str, args: FailureQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:FailureQueue", name, None, opts)
        problems = Problems(f"FailureQueue {name!r}")
        problems.extend(_sender_problems("senders", args.get("senders", [])))
        problems.raise_if_any()
        queue = _secured_queue(
            name,
            args.get("kms_key_arn"),
            args.get("senders", []),
            self,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        _depth_alarm(
            f"{name}-depth",
            queue,
            "Failure records waiting: events that could not be processed and need a look.",
            args["alarm_topic_arn"],
            self,
        )
        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.register_outputs({"queue_url": queue.url, "queue_arn": queue.arn})
