"""FanOut: one SNS topic → per subscriber an SQS queue with its DLQ → a Lambda consumer.

The topic is the pattern's own, or an existing standard topic it subscribes to (``topic_arn``), whose owner keeps
its policy and alarms. Each subscriber gets a queue block (SNS may send to its queue and, through the
subscription's redrive policy, to its DLQ, both scoped to the topic by ``aws:SourceArn``), a raw-delivery
subscription with its filter policy, and a function block polling the queue with partial batch responses. The
queue's visibility timeout is at least 6 x the function timeout (AWS's guidance), so a message is not redelivered
while a retried batch still runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
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
    QueueSettings,
    queue_problems,
    redelivery_window_seconds,
)
from serverless_patterns.internals.alarms import AlarmSpec, metric_alarm
from serverless_patterns.internals.filter_policy import FilterScope, filter_policy_problems
from serverless_patterns.internals.handler_settings import COMPONENT_FUNCTION_FIELDS, FUNCTION_FIELDS, given
from serverless_patterns.internals.iam import Grant, grant, kms_use_grant
from serverless_patterns.internals.policies import deny_insecure_transport, resource_policy
from serverless_patterns.internals.settings import ARN_PATTERN, setting, settings_problems
from serverless_patterns.internals.validation import NAME_PATTERN, ArgumentError

__all__ = [
    "FanOut",
    "FanOutArgs",
    "FanOutSettings",
    "FanOutSubscriber",
    "FanOutSubscriberSettings",
    "SubscriberOutputs",
    "fanout_problems",
]

VISIBILITY_FACTOR = 6
MAX_BATCH_WITHOUT_WINDOW = 10
FILTER_SCOPES: tuple[FilterScope, ...] = ("MessageAttributes", "MessageBody")
AWS_MANAGED_TOPIC_KEY = "alias/aws/sns"


class FanOutSubscriber(TypedDict):
    """One subscriber: its filter, its queue and its consumer Lambda (defaults and rules:
    :class:`FanOutSubscriberSettings`)."""

    name: str
    handler_package: str
    handler: str
    filter_policy: NotRequired[dict[str, Any]]
    filter_policy_scope: NotRequired[FilterScope]
    batch_size: NotRequired[int]
    batching_window_seconds: NotRequired[int]
    maximum_concurrency: NotRequired[int]
    max_receive_count: NotRequired[int]
    visibility_timeout_seconds: NotRequired[int]
    memory_mb: NotRequired[int]
    timeout_seconds: NotRequired[int]
    reserved_concurrency: NotRequired[int]
    grants: NotRequired[list[Grant]]
    environment: NotRequired[dict[str, pulumi.Input[str]]]


class FanOutArgs(TypedDict):
    """Arguments of :class:`FanOut` (defaults and rules: :class:`FanOutSettings`)."""

    subscribers: list[FanOutSubscriber]
    alarm_topic_arn: pulumi.Input[str]
    topic_arn: NotRequired[pulumi.Input[str]]
    kms_key_arn: NotRequired[pulumi.Input[str] | None]  # None: AWS's own keys
    log_retention_days: NotRequired[int]
    log_level: NotRequired[str]
    metrics_namespace: NotRequired[str]
    handlers_root: NotRequired[str]


def _name_problem(name: str) -> str | None:
    if NAME_PATTERN.match(name):
        return None
    return f"must be lower-case letters, digits and '-', starting with a letter, at most 48 chars; got {name!r}"


@dataclass(frozen=True)
class FanOutSubscriberSettings:
    """:class:`FanOutSubscriber` resolved. The function's own fields are left to the Function block when unset."""

    name: str = setting(check=_name_problem, doc="lower-case letters, digits, `-`; unique")
    handler_package: str = setting(doc="as `Function`")
    handler: str = setting(doc="as `Function`")
    filter_policy: dict[str, Any] | None = setting(
        None, default_doc="all messages", doc="an SNS filter policy (a JSON object), validated before deploy"
    )
    filter_policy_scope: FilterScope | None = setting(
        None,
        choices=FILTER_SCOPES,
        default_doc=FILTER_SCOPES[0],
        doc="or MessageBody (nested keys need it); only with a `filter_policy`",
    )
    batch_size: int = setting(10, low=1, high=10000, doc=f"above {MAX_BATCH_WITHOUT_WINDOW} needs a batching window")
    batching_window_seconds: int = setting(0, low=0, high=300)
    maximum_concurrency: int | None = setting(None, low=2, high=1000, default_doc="unset")
    max_receive_count: int = setting(QueueSettings.max_receive_count, doc="receives before the DLQ; as `Queue`")
    visibility_timeout_seconds: int | None = setting(
        None, default_doc=f"{VISIBILITY_FACTOR} x the function timeout", doc="may not be shorter"
    )
    memory_mb: int | None = setting(None, default_doc="as `Function`")
    timeout_seconds: int | None = setting(None, default_doc="as `Function`")
    reserved_concurrency: int | None = setting(None, default_doc="as `Function`")
    grants: tuple[Mapping[str, Any], ...] = setting((), doc="as `Function`; added to the consumer's own")
    environment: Mapping[str, pulumi.Input[str]] | None = setting(
        None, doc=f"as `Function`; `{IDEMPOTENCY_EXPIRY_ENV}` is set for you"
    )


def _standard_topic_problem(arn: str) -> str | None:
    if not ARN_PATTERN.match(arn):
        return None  # the ARN rule names it
    if arn.split(":")[2] != "sns":
        return f"must be an SNS topic's ARN, got {arn!r}"
    if arn.endswith(".fifo"):
        return "is a FIFO topic: its subscribers must be FIFO queues, and FanOut's queues are standard"
    return None


def _at_least_one(subscribers: tuple[FanOutSubscriberSettings, ...]) -> str | None:
    return None if subscribers else "must name at least one subscriber"


@dataclass(frozen=True)
class FanOutSettings:
    """:class:`FanOutArgs` resolved: every default and rule of the pattern (subscribers:
    :class:`FanOutSubscriberSettings`)."""

    subscribers: tuple[FanOutSubscriberSettings, ...] = setting(
        check=_at_least_one, doc="at least one; names unique (below)"
    )
    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    topic_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        check=_standard_topic_problem,
        default_doc="a topic of its own",
        doc="an existing standard topic to subscribe to instead: no topic, topic policy or topic alarm is created",
    )
    kms_key_arn: pulumi.Input[str] | None = setting(
        None,
        arn=True,
        default_doc="`alias/aws/sns` on the topic, SSE-SQS on queues",
        doc="one customer key for the topic (with `topic_arn`: the key that topic uses) and the queues; its policy "
        "must admit `sns.amazonaws.com`",
    )
    log_retention_days: int | None = setting(None, default_doc="as `Function`", doc="applied to every consumer")
    log_level: str | None = setting(None, default_doc="as `Function`", doc="applied to every consumer")
    metrics_namespace: str | None = setting(None, default_doc="as `Function`", doc="applied to every consumer")
    handlers_root: str | None = setting(None, default_doc="as `Function`", doc="applied to every consumer")


@dataclass(frozen=True)
class SubscriberOutputs:
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]


def function_timeout(sub: FanOutSubscriberSettings) -> int:
    """The consumer's timeout: as given, or the Function block's default."""
    return DEFAULT_TIMEOUT_SECONDS if sub.timeout_seconds is None else sub.timeout_seconds


def visibility_timeout(sub: FanOutSubscriberSettings) -> int:
    """The queue's visibility timeout: as given, or long enough for the consumer's retried batches."""
    if sub.visibility_timeout_seconds is not None:
        return sub.visibility_timeout_seconds
    return VISIBILITY_FACTOR * function_timeout(sub)


def filter_scope(sub: FanOutSubscriberSettings) -> FilterScope:
    """The part of a message the filter policy reads (message attributes unless told otherwise)."""
    return sub.filter_policy_scope or FILTER_SCOPES[0]


def _function_args(sub: FanOutSubscriberSettings, settings: FanOutSettings) -> FunctionArgs:
    # A consumer's idempotency records outlive every way its messages can come back (a DLQ redrive included).
    return component_function_args(
        given(sub, FUNCTION_FIELDS),
        given(settings, COMPONENT_FUNCTION_FIELDS),
        {IDEMPOTENCY_EXPIRY_ENV: str(redelivery_window_seconds())},
    )


def _queue_args(
    sub: FanOutSubscriberSettings, settings: FanOutSettings, topic_arn: pulumi.Input[str] | None
) -> QueueArgs:
    """The subscriber's queue; SNS may send to it and to its DLQ for ``topic_arn`` (None: validation only)."""
    senders: list[Any] = [] if topic_arn is None else [{"service": "sns.amazonaws.com", "source_arn": topic_arn}]
    queue: QueueArgs = {
        "alarm_topic_arn": settings.alarm_topic_arn,
        "visibility_timeout_seconds": visibility_timeout(sub),
        "max_receive_count": sub.max_receive_count,
        "senders": senders,
        "dlq_senders": senders,
    }
    if settings.kms_key_arn is not None:
        queue["kms_key_arn"] = settings.kms_key_arn
    return queue


def _subscriber_problems(sub: FanOutSubscriberSettings, settings: FanOutSettings) -> list[str]:
    """The rules relating one subscriber's settings to each other and to the blocks it is built from."""
    problems: list[str] = []
    if sub.filter_policy is not None:
        problems += [f"filter_policy: {p}" for p in filter_policy_problems(sub.filter_policy, filter_scope(sub))]
    elif sub.filter_policy_scope is not None:
        problems.append("filter_policy_scope without a filter_policy")
    if sub.batch_size > MAX_BATCH_WITHOUT_WINDOW and sub.batching_window_seconds == 0:
        problems.append(
            f"batch_size {sub.batch_size} above {MAX_BATCH_WITHOUT_WINDOW} needs batching_window_seconds > 0"
        )
    shortest = VISIBILITY_FACTOR * function_timeout(sub)
    if visibility_timeout(sub) < shortest:
        problems.append(
            f"visibility_timeout_seconds {visibility_timeout(sub)} is shorter than {VISIBILITY_FACTOR} x the "
            f"function timeout ({shortest}s)"
        )
    expiry = (sub.environment or {}).get(IDEMPOTENCY_EXPIRY_ENV)
    if isinstance(expiry, str) and not (expiry.isdigit() and int(expiry) >= redelivery_window_seconds()):
        problems.append(
            f"environment {IDEMPOTENCY_EXPIRY_ENV} {expiry} is shorter than the {redelivery_window_seconds()}s a "
            "message can come back (DLQ retention + queue retention): a redrive would apply effects twice"
        )
    problems += function_problems(sub.name, _function_args(sub, settings))
    problems += queue_problems(_queue_args(sub, settings, None))
    return problems


def _rule_problems(settings: FanOutSettings, indexes: Iterable[int]) -> list[str]:
    """The rules relating settings; ``indexes``: where each of ``settings.subscribers`` sits in the arguments."""
    names = [s.name for s in settings.subscribers]
    problems = [f"subscribers: duplicate name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    for index, sub in zip(indexes, settings.subscribers, strict=True):
        problems += [f"subscribers[{index}] ({sub.name}): {p}" for p in _subscriber_problems(sub, settings)]
    return problems


def fanout_problems(args: Any) -> tuple[FanOutSettings | None, list[str]]:
    """The settings from ``args`` and every problem: arguments that do not read, then the rules relating the
    arguments that do (once the pattern's own arguments read, each subscriber whose arguments read is judged,
    whatever is wrong with the others)."""
    settings, problems = settings_problems(FanOutSettings, args)
    if settings is not None:
        problems = _rule_problems(settings, range(len(settings.subscribers)))
        return (settings if not problems else None), problems
    raw = args.get("subscribers") if isinstance(args, Mapping) else None
    if isinstance(raw, list | tuple):
        indexes = [i for i, sub in enumerate(raw) if settings_problems(FanOutSubscriberSettings, sub)[0] is not None]
        readable, _ = settings_problems(FanOutSettings, {**args, "subscribers": [raw[i] for i in indexes]})
        if readable is not None:
            problems += _rule_problems(readable, indexes)
    return None, problems


class FanOut(pulumi.ComponentResource):
    """SNS topic fanned out to filtered SQS → Lambda subscribers. See :class:`FanOutArgs`."""

    topic_arn: pulumi.Output[str]
    topic_name: pulumi.Output[str]
    subscribers: dict[str, SubscriberOutputs]
    settings: FanOutSettings

    def __init__(self, name: str, args: FanOutArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:FanOut", name, None, opts)
        resolved, problems = fanout_problems(args)
        if resolved is None:
            raise ArgumentError(f"FanOut {name!r}", problems)
        settings = self.settings = resolved
        if settings.topic_arn is None:
            topic = self._topic(name, settings)
            self.topic_arn, self.topic_name = topic.arn, topic.name
        else:
            self.topic_arn = pulumi.Output.from_input(settings.topic_arn)
            self.topic_name = self.topic_arn.apply(lambda arn: arn.rsplit(":", 1)[-1])

        self.subscribers = {sub.name: self._subscriber(name, sub, self.topic_arn) for sub in settings.subscribers}
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "subscribers": {
                    n: {"queue_url": s.queue_url, "dlq_url": s.dlq_url, "function_name": s.function_name}
                    for n, s in self.subscribers.items()
                },
            }
        )

    def _topic(self, name: str, settings: FanOutSettings) -> aws.sns.Topic:
        """The pattern's own topic: encrypted, TLS-only, alarmed on failed deliveries."""
        child = pulumi.ResourceOptions(parent=self)
        key = settings.kms_key_arn
        topic = aws.sns.Topic(name, kms_master_key_id=key if key is not None else AWS_MANAGED_TOPIC_KEY, opts=child)
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
            settings.alarm_topic_arn,
            self,
        )
        return topic

    def _subscriber(self, name: str, sub: FanOutSubscriberSettings, topic_arn: pulumi.Input[str]) -> SubscriberOutputs:
        settings = self.settings
        prefix = f"{name}-{sub.name}"
        child = pulumi.ResourceOptions(parent=self)
        queue = Queue(prefix, _queue_args(sub, settings, topic_arn), opts=child)
        filtered: dict[str, Any] = {}
        if sub.filter_policy is not None:
            filtered["filter_policy"] = json.dumps(sub.filter_policy, sort_keys=True)
            filtered["filter_policy_scope"] = filter_scope(sub)
        aws.sns.TopicSubscription(
            f"{prefix}-subscription",
            topic=topic_arn,
            protocol="sqs",
            endpoint=queue.queue_arn,
            raw_message_delivery=True,
            redrive_policy=queue.dlq_arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue]),
            **filtered,
        )
        key = settings.kms_key_arn
        function_args = _function_args(sub, settings)
        function_args["grants"] = [
            grant(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue.queue_arn]),
            # Receiving from an SSE-KMS queue decrypts with its key; nothing the consumer does encrypts.
            *([grant(["kms:Decrypt"], [key])] if key is not None else []),
            *function_args.get("grants", []),
        ]
        function = Function(f"{prefix}-consumer", function_args, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{prefix}-mapping",
            event_source_arn=queue.queue_arn,
            function_name=function.function_arn,
            batch_size=sub.batch_size,
            maximum_batching_window_in_seconds=sub.batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": sub.maximum_concurrency}
            if sub.maximum_concurrency is not None
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        return SubscriberOutputs(queue.queue_url, queue.queue_arn, queue.dlq_url, queue.dlq_arn, function.function_name)

    def publish_grants(self) -> list[Grant]:
        """What a publisher's role needs: ``sns:Publish`` (which also authorises PublishBatch) on the topic and, when
        the topic is encrypted with a customer key (``kms_key_arn``), ``kms:GenerateDataKey`` and ``kms:Decrypt`` on
        that key: SNS asks KMS for the message's data key with the publisher's own permissions, so a publish without
        them is AccessDenied. (AWS's guide writes ``kms:GenerateDataKey*``; grants here name each action.)"""
        key = self.settings.kms_key_arn
        return [grant(["sns:Publish"], [self.topic_arn]), *([kms_use_grant(key)] if key is not None else [])]
