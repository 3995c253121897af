"""A customer-managed KMS key for a stack's data at rest: tables, queues, topics and log groups.

AWS-owned and AWS-managed keys cannot be audited, rotated on your terms or revoked, and some services refuse them
(SNS cannot deliver into a queue under ``alias/aws/sqs``). This key rotates yearly, is administered by the account
through IAM, and its policy admits exactly the service principals that use it on their own:

- CloudWatch Logs, for encrypted log groups, only with the encryption context of this account's log groups in this
  region (``kms:EncryptionContext:aws:logs:arn``);
- SNS, when it delivers a topic's messages into an encrypted queue, only for this account (``aws:SourceAccount``).

Roles that read or write the encrypted resources (Lambda functions, the Scheduler, publishers) are granted the key
in their own IAM policies (``kms_use_grant``): the key policy's account statement delegates to IAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns.blocks.alarm_topic import KEY_ADMIN_ACTIONS
from serverless_patterns.internals.naming import physical_name
from serverless_patterns.internals.policies import resource_policy, service_may
from serverless_patterns.internals.runtime import (
    current_account,
    current_dns_suffix,
    current_partition,
    current_region,
)
from serverless_patterns.internals.settings import resolve, setting

__all__ = ["CustomerKey", "CustomerKeyArgs", "CustomerKeySettings"]

#: What CloudWatch Logs does with a log group's key, named (AWS's example writes kms:Encrypt* and so on). Every one
#: of them carries the log group's encryption context, which the condition below requires.
LOGS_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
#: What SNS does with a queue's key when it delivers into the queue.
SNS_DELIVERY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class CustomerKeyArgs(TypedDict):
    """Arguments of :class:`CustomerKey` (defaults and rules: :class:`CustomerKeySettings`)."""

    description: NotRequired[str]
    log_groups: NotRequired[bool]
    sns_delivery: NotRequired[bool]
    deletion_window_days: NotRequired[int]


@dataclass(frozen=True)
class CustomerKeySettings:
    """:class:`CustomerKeyArgs` resolved."""

    description: str = setting("Encrypts the stack's data at rest.", default_doc="a generic description")
    log_groups: bool = setting(True, doc="CloudWatch Logs may use the key for this account's log groups")
    sns_delivery: bool = setting(True, doc="SNS may use the key to deliver into queues encrypted with it")
    deletion_window_days: int = setting(30, low=7, high=30, doc="days a deleted key can still be restored")


class CustomerKey(pulumi.ComponentResource):
    """A rotating customer-managed key with an alias derived from the component name. See the module docstring."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: str
    settings: CustomerKeySettings

    def __init__(self, name: str, args: CustomerKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-patterns:index:CustomerKey", name, None, opts)
        settings = self.settings = resolve(CustomerKeySettings, args, f"CustomerKey {name!r}")
        child = pulumi.ResourceOptions(parent=self)
        partition, region, account = current_partition(self), current_region(self), current_account(self)
        statements: list[dict[str, Any]] = [
            {
                "Sid": "AccountAdministersKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": pulumi.Output.format("arn:{0}:iam::{1}:root", partition, account)},
                "Action": KEY_ADMIN_ACTIONS,
                "Resource": "*",
            }
        ]
        if settings.log_groups:
            log_groups = pulumi.Output.format("arn:{0}:logs:{1}:{2}:log-group:*", partition, region, account)
            statements.append(
                service_may(
                    "CloudWatchLogsEncryptsThisAccountsLogGroups",
                    pulumi.Output.concat("logs.", region, ".", current_dns_suffix(self)),  # type: ignore[arg-type]
                    LOGS_ACTIONS,
                    "*",
                    {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
                )
            )
        if settings.sns_delivery:
            statements.append(
                service_may(
                    "SnsDeliversIntoEncryptedQueues",
                    "sns.amazonaws.com",
                    SNS_DELIVERY_ACTIONS,
                    "*",
                    {"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        key = aws.kms.Key(
            f"{name}-key",
            description=settings.description,
            enable_key_rotation=True,
            deletion_window_in_days=settings.deletion_window_days,
            policy=resource_policy(statements),
            opts=child,
        )
        self.alias_name = f"alias/{physical_name(name, 250)}"
        aws.kms.Alias(f"{name}-key-alias", name=self.alias_name, target_key_id=key.key_id, opts=child)
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"key_arn": key.arn, "key_id": key.key_id})
