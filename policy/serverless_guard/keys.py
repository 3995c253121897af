"""KMS: customer keys rotate; where ``requireCustomerKeys`` is on (prod), tables, queues, topics and log groups are
encrypted with customer-managed keys (whose policy and rotation the account controls)."""

from __future__ import annotations

from collections.abc import Iterator

from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, Violation, violation
from serverless_guard.types import KEY, LOG_GROUP, QUEUE, TABLE, TOPIC

__all__ = ["RULES"]

_SYMMETRIC = "SYMMETRIC_DEFAULT"
_AWS_MANAGED = "alias/aws/"


def _rotation(key: Resource, _: GuardConfig) -> Iterator[Violation]:
    spec = key.get("customerMasterKeySpec") or key.get("keySpec") or _SYMMETRIC
    if spec != _SYMMETRIC:
        return  # only symmetric encryption keys rotate
    if key.get("enableKeyRotation") not in (True, UNKNOWN):
        yield violation(key, "does not rotate its key material", "set enable_key_rotation=True")


def _customer_key(resource: Resource) -> object:
    """The customer key encrypting ``resource`` (None when AWS owns or manages the key)."""
    if resource.type == TABLE:
        enabled = resource.get("serverSideEncryption", "enabled")
        return resource.get("serverSideEncryption", "kmsKeyArn") if enabled in (True, UNKNOWN) else None
    key = resource.get("kmsKeyId" if resource.type == LOG_GROUP else "kmsMasterKeyId")
    return None if isinstance(key, str) and (key == "" or key.startswith(_AWS_MANAGED)) else key


_SETTING = {
    TABLE: "server_side_encryption={'enabled': True, 'kms_key_arn': <key ARN>} (the Table block's kms_key_arn)",
    QUEUE: "kms_master_key_id=<key ARN> (the Queue block's kms_key_arn; its key policy must admit senders)",
    TOPIC: "kms_master_key_id=<key ARN> (FanOut's kms_key_arn; its key policy must admit publishers)",
    LOG_GROUP: "kms_key_id=<key ARN> (its key policy must admit logs.<region>.amazonaws.com)",
}


def _customer_keys(resource: Resource, config: GuardConfig) -> Iterator[Violation]:
    if config.require_customer_keys and _customer_key(resource) is None:
        yield violation(
            resource,
            "is not encrypted with a customer-managed KMS key (required: requireCustomerKeys)",
            f"set {_SETTING[resource.type]}",
        )


RULES = [
    ResourceRule(
        "kms-key-rotation",
        "Customer-managed KMS keys rotate their key material.",
        frozenset({KEY}),
        _rotation,
        cdk_nag=("AwsSolutions-KMS5",),
    ),
    ResourceRule(
        "customer-managed-keys",
        "Where required (requireCustomerKeys), tables, queues, topics and log groups use customer-managed KMS keys.",
        frozenset(_SETTING),
        _customer_keys,
        config=("requireCustomerKeys",),
    ),
]
