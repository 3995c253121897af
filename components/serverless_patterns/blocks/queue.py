"""The queue block: an SQS queue with its dead-letter queue, encryption, TLS-only policies and alarms.

SSE-SQS by default, because SNS cannot deliver into a queue encrypted with the AWS-managed ``alias/aws/sqs`` key;
a customer key is optional (its key policy must then admit the delivering service; IAM roles that send or poll
need ``kms:GenerateDataKey``/``kms:Decrypt`` grants on it). Both queues deny non-TLS access and admit only the
service senders the caller names, each scoped by ``aws:SourceArn``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.policies import deny_insecure_transport, resource_policy, service_may
from serverless_patterns.internals.settings import resolve, setting, settings_problems

__all__ = [
    "DLQ_RETENTION_SECONDS",
    "IDEMPOTENCY_EXPIRY_ENV",
    "FailureQueue",
    "FailureQueueArgs",
    "FailureQueueSettings",
    "Queue",
    "QueueArgs",
    "QueueSender",
    "QueueSettings",
    "SenderSettings",
    "queue_problems",
    "redelivery_window_seconds",
]

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum SQS allows
#: The environment variable through which a pattern tells a consumer's idempotency records how long to live.
IDEMPOTENCY_EXPIRY_ENV = "IDEMPOTENCY_EXPIRY_SECONDS"
SENDER_SERVICES = ("sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com", "s3.amazonaws.com")


class QueueSender(TypedDict):
    """An AWS service allowed to send to the queue, only on behalf of ``source_arn`` (e.g. an SNS topic)."""

    service: str
    source_arn: pulumi.Input[str]


class QueueArgs(TypedDict):
    """Arguments of :class:`Queue` (defaults and rules: :class:`QueueSettings`)."""

    alarm_topic_arn: pulumi.Input[str]
    visibility_timeout_seconds: NotRequired[int]
    max_receive_count: NotRequired[int]
    retention_seconds: NotRequired[int]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    senders: NotRequired[list[QueueSender]]
    dlq_senders: NotRequired[list[QueueSender]]
    oldest_message_age_alarm_seconds: NotRequired[int]


class FailureQueueArgs(TypedDict):
    """Arguments of :class:`FailureQueue` (defaults and rules: :class:`FailureQueueSettings`)."""

    alarm_topic_arn: pulumi.Input[str]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    senders: NotRequired[list[QueueSender]]


@dataclass(frozen=True)
class SenderSettings:
    service: str = setting(choices=SENDER_SERVICES, doc="the service principal")
    source_arn: pulumi.Input[str] = setting(arn=True, doc="the resource it sends for (``aws:SourceArn``)")


@dataclass(frozen=True)
class QueueSettings:
    """:class:`QueueArgs` resolved: every default and rule of the queue block."""

    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    visibility_timeout_seconds: int = setting(30, low=0, high=43200)
    max_receive_count: int = setting(5, low=1, high=1000, doc="receives before a message moves to the DLQ")
    retention_seconds: int = setting(
        4 * 24 * 3600,
        low=60,
        high=DLQ_RETENTION_SECONDS,
        default_doc="4 days",
        doc="in seconds; the DLQ always keeps 14 days (the maximum)",
    )
    kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="SSE-SQS",
        doc="a customer key; its key policy must admit delivering services, roles need `kms_use_grant`",
    )
    senders: tuple[SenderSettings, ...] = setting(
        (),
        doc='`{"service": "sns.amazonaws.com", "source_arn": ...}`: services allowed to send, scoped by '
        "`aws:SourceArn`",
    )
    dlq_senders: tuple[SenderSettings, ...] = setting((), doc="the same for the DLQ (e.g. SNS's redrive)")
    oldest_message_age_alarm_seconds: int = setting(900, low=60, high=1_209_600)


@dataclass(frozen=True)
class FailureQueueSettings:
    """:class:`FailureQueueArgs` resolved."""

    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    kms_key_arn: pulumi.Input[str] | None = setting(None, arn=True, default_doc="SSE-SQS")
    senders: tuple[SenderSettings, ...] = setting((), doc="services that send failures on their own (not roles)")


DEFAULT_RETENTION_SECONDS: int = QueueSettings.retention_seconds


def redelivery_window_seconds(retention_seconds: int = DEFAULT_RETENTION_SECONDS) -> int:
    """How long after its first delivery a message can still come back to its consumer: a DLQ keeps a message
    14 days from its original enqueue, and a redrive puts it back in the source queue, where it can wait out
    that queue's retention. Idempotency records guarding the consumer's effects must live at least this long."""
    return DLQ_RETENTION_SECONDS + retention_seconds


def queue_problems(args: QueueArgs) -> list[str]:
    """Every problem of ``args`` (for patterns that validate a queue they will build, before building anything)."""
    return settings_problems(QueueSettings, args)[1]


def _queue_policy(queue_arn: pulumi.Output[str], senders: tuple[SenderSettings, ...]) -> pulumi.Output[str]:
    statements = [deny_insecure_transport(["sqs:*"], queue_arn)]
    statements.extend(
        service_may(
            f"AllowSender{i}",
            s.service,
            ["sqs:SendMessage"],
            queue_arn,
            {"ArnEquals": {"aws:SourceArn": s.source_arn}},
        )
        for i, s in enumerate(senders)
    )
    return resource_policy(statements)


def _secured_queue(
    resource_name: str,
    key: pulumi.Input[str] | None,
    senders: tuple[SenderSettings, ...],
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
        settings = self.settings = resolve(QueueSettings, args, f"Queue {name!r}")
        key = settings.kms_key_arn
        max_receives = settings.max_receive_count
        dlq = _secured_queue(
            f"{name}-dlq", key, settings.dlq_senders, self, message_retention_seconds=DLQ_RETENTION_SECONDS
        )
        queue = _secured_queue(
            name,
            key,
            settings.senders,
            self,
            visibility_timeout_seconds=settings.visibility_timeout_seconds,
            message_retention_seconds=settings.retention_seconds,
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

        topic = settings.alarm_topic_arn
        _depth_alarm(
            f"{name}-dlq-depth",
            dlq,
            "Messages in the dead-letter queue: they failed processing and wait for a human.",
            topic,
            self,
        )
        age = settings.oldest_message_age_alarm_seconds
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
        settings = self.settings = resolve(FailureQueueSettings, args, f"FailureQueue {name!r}")
        queue = _secured_queue(
            name, settings.kms_key_arn, settings.senders, self, message_retention_seconds=DLQ_RETENTION_SECONDS
        )
        _depth_alarm(
            f"{name}-depth",
            queue,
            "Failure records waiting: events that could not be processed and need a look.",
            settings.alarm_topic_arn,
            self,
        )
        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.register_outputs({"queue_url": queue.url, "queue_arn": queue.arn})
