"""SNS: encrypted, TLS-only topics, and a dead-letter queue behind every subscription."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from serverless_guard.model import (
    UNKNOWN,
    GuardConfig,
    Resource,
    ResourceRule,
    StackRule,
    Violation,
    json_field,
    violation,
)
from serverless_guard.stack import Stack
from serverless_guard.transport import denies_insecure_transport
from serverless_guard.types import SUBSCRIPTION, TOPIC, TOPIC_POLICY

__all__ = ["RULES"]


def _encryption(topic: Resource, _: GuardConfig) -> Iterator[Violation]:
    if topic.get("kmsMasterKeyId") in (None, ""):
        yield violation(
            topic,
            "is not encrypted at rest",
            "set kms_master_key_id (alias/aws/sns, or a customer key when CloudWatch or EventBridge publish to it)",
        )


def _tls_only(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    topics = stack.of_type(TOPIC)
    documents: dict[str, list[Any]] = {t.urn: [t.get("policy")] for t in topics}
    for policy in stack.of_type(TOPIC_POLICY):
        for topic in stack.referenced(policy, "arn", policy.get("arn"), topics):
            documents[topic.urn].append(policy.get("policy"))
    for topic in topics:
        found = documents[topic.urn]
        if UNKNOWN in found or denies_insecure_transport(found, "sns:Publish"):
            continue
        yield violation(
            topic,
            "accepts publishes over plain HTTP",
            "attach a topic policy denying Principal '*' action 'sns:Publish' when aws:SecureTransport is false",
        )


def _subscription_redrive(subscription: Resource, _: GuardConfig) -> Iterator[Violation]:
    target = json_field(subscription.get("redrivePolicy"), "deadLetterTargetArn")
    if target in (None, ""):
        protocol = subscription.get("protocol")
        yield violation(
            subscription,
            f"has no redrive policy: a delivery to its {protocol} endpoint that SNS gives up on is dropped",
            "set redrive_policy to a dead-letter queue that SNS may send to (scope it with aws:SourceArn)",
        )


RULES = [
    ResourceRule(
        "sns-encryption",
        "SNS topics are encrypted at rest.",
        frozenset({TOPIC}),
        _encryption,
        cdk_nag=("AwsSolutions-SNS2",),
    ),
    StackRule(
        "sns-tls-only",
        "SNS topics deny publishes that do not use TLS.",
        _tls_only,
        cdk_nag=("AwsSolutions-SNS3",),
    ),
    ResourceRule(
        "sns-subscription-redrive",
        "Every SNS subscription (SQS, Lambda, e-mail and the rest) has a redrive policy to a dead-letter queue.",
        frozenset({SUBSCRIPTION}),
        _subscription_redrive,
        cdk_nag=("Serverless-SNSRedrivePolicy",),
    ),
]
