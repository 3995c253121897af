"""The stack's alarm topic: every alarm notifies it.

CloudWatch cannot publish to a topic encrypted with the AWS-managed ``alias/aws/sns`` key, so the topic uses a
customer-managed key whose policy lets ``cloudwatch.amazonaws.com`` use it (AWS's documented statement), and a
topic policy that lets CloudWatch publish (from this account only) beside the TLS-only deny. An e-mail subscription
redrives what it cannot deliver to an alarmed queue. The key's alias is derived from the component's name, so a
stack may hold several alarm topics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.queue import FailureQueue
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.policies import deny_insecure_transport, resource_policy, service_may
from serverless_patterns.internals.runtime import current_account, current_partition
from serverless_patterns.internals.settings import resolve, setting

__all__ = ["EMAIL_PATTERN", "KEY_ADMIN_ACTIONS", "AlarmTopic", "AlarmTopicArgs", "AlarmTopicSettings"]

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

#: What the account may do with the key through IAM (named, no wildcards), so the key stays manageable.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]


class AlarmTopicArgs(TypedDict):
    """Arguments of :class:`AlarmTopic` (defaults and rules: :class:`AlarmTopicSettings`)."""

    email: NotRequired[str]
    key_deletion_window_days: NotRequired[int]


def _email_problem(email: str) -> str | None:
    return None if EMAIL_PATTERN.match(email) else f"{email!r} is not an e-mail address"


@dataclass(frozen=True)
class AlarmTopicSettings:
    """:class:`AlarmTopicArgs` resolved."""

    email: str | None = setting(
        None,
        check=_email_problem,
        default_doc="no subscription",
        doc="an e-mail subscription, confirmed by the recipient after deploy",
    )
    key_deletion_window_days: int = setting(30, low=7, high=30, doc="days a deleted key can still be restored")


class AlarmTopic(pulumi.ComponentResource):
    """The stack's alarm topic with its customer-managed key."""

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    settings: AlarmTopicSettings

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:AlarmTopic", name, None, opts)
        settings = self.settings = resolve(AlarmTopicSettings, args, f"AlarmTopic {name!r}")
        child = pulumi.ResourceOptions(parent=self)
        account = current_account(self)
        same_account = {"StringEquals": {"aws:SourceAccount": account}}

        key = aws.kms.Key(
            f"{name}-key",
            description="Encrypts the alarm topic; CloudWatch may use it to publish alarms.",
            enable_key_rotation=True,
            deletion_window_in_days=settings.key_deletion_window_days,
            policy=resource_policy(
                [
                    {
                        "Sid": "AccountAdministersKeyThroughIam",
                        "Effect": "Allow",
                        "Principal": {
                            "AWS": pulumi.Output.format("arn:{0}:iam::{1}:root", current_partition(self), account)
                        },
                        "Action": KEY_ADMIN_ACTIONS,
                        "Resource": "*",
                    },
                    # AWS's documented statement for CloudWatch alarms publishing to an encrypted topic, verbatim:
                    # a condition here (aws:SourceAccount, say) has been reported to silence alarm delivery, and the
                    # topic policy below already admits CloudWatch from this account only.
                    service_may(
                        "CloudWatchPublishesAlarms",
                        "cloudwatch.amazonaws.com",
                        ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "*",
                    ),
                    # SNS moves an alarm e-mail it cannot deliver into the e-mail DLQ, encrypted with this key too.
                    service_may(
                        "SnsDeliversUndeliveredAlarms",
                        "sns.amazonaws.com",
                        ["kms:Decrypt", "kms:GenerateDataKey"],
                        "*",
                        same_account,
                    ),
                ]
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias", name=f"alias/{physical_name(name, 250)}", target_key_id=key.key_id, opts=child
        )
        topic = aws.sns.Topic(name, kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=resource_policy(
                [
                    deny_insecure_transport(["sns:Publish"], topic.arn),
                    service_may(
                        "CloudWatchPublishesAlarms",
                        "cloudwatch.amazonaws.com",
                        ["sns:Publish"],
                        topic.arn,
                        same_account,
                    ),
                ]
            ),
            opts=child,
        )
        if settings.email is not None:
            # An alarm e-mail SNS cannot deliver (a bounce, a throttled endpoint) waits in a queue of its own, which
            # is itself alarmed, instead of being dropped after SNS's retries.
            undelivered = FailureQueue(
                f"{name}-email-dlq",
                {
                    "alarm_topic_arn": topic.arn,
                    "kms_key_arn": key.arn,
                    "senders": [{"service": "sns.amazonaws.com", "source_arn": topic.arn}],
                },
                opts=child,
            )
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=settings.email,
                redrive_policy=undelivered.queue_arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})),
                opts=child,
            )
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topic_arn": topic.arn, "key_arn": key.arn})
