"""SQS: encrypted, TLS-only, every work queue redriven into a dead-letter queue that keeps 14 days, and visibility
timeouts long enough for the function that polls the queue.

Dead-letter and failure queues are told apart by what points at them (:meth:`Stack.dead_letter_queues`): a redrive
target, an on-failure destination, a DLQ of a function, schedule or EventBridge target, or a redrive-allow policy.
"""

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
from serverless_guard.types import FUNCTION, MAPPING, QUEUE, QUEUE_POLICY

__all__ = ["DLQ_RETENTION_SECONDS", "RULES", "VISIBILITY_FACTOR"]

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the most SQS keeps a message
DEFAULT_RETENTION_SECONDS = 4 * 24 * 3600
DEFAULT_VISIBILITY_SECONDS = 30
DEFAULT_FUNCTION_TIMEOUT = 3
#: AWS's guidance: a queue polled by Lambda hides a message for 6 x the function timeout.
VISIBILITY_FACTOR = 6


def _encryption(queue: Resource, _: GuardConfig) -> Iterator[Violation]:
    sse, key = queue.get("sqsManagedSseEnabled"), queue.get("kmsMasterKeyId")
    if sse is True or sse is UNKNOWN or key not in (None, ""):
        return
    yield violation(
        queue,
        "is not encrypted at rest",
        "set sqs_managed_sse_enabled=True (SSE-SQS) or kms_master_key_id to a customer key",
    )


def _redrive(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    dead_letters = stack.dead_letter_queues()
    for queue in stack.of_type(QUEUE):
        if queue.urn in dead_letters:
            continue
        target = json_field(queue.get("redrivePolicy"), "deadLetterTargetArn")
        if target in (None, ""):
            yield violation(
                queue,
                "has no redrive policy: a message that keeps failing is retried until it expires, then lost",
                "set redrive_policy to a dead-letter queue with a maxReceiveCount (the Queue block does)",
            )


def _dlq_retention(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    dead_letters = stack.dead_letter_queues()
    for queue in stack.of_type(QUEUE):
        if queue.urn not in dead_letters:
            continue
        retention = queue.get("messageRetentionSeconds")
        if retention is UNKNOWN:
            continue
        seconds = retention if isinstance(retention, int | float) else DEFAULT_RETENTION_SECONDS
        if seconds != DLQ_RETENTION_SECONDS:
            yield violation(
                queue,
                f"receives failures but keeps them {_days(seconds)}: they can expire before anyone looks",
                f"set message_retention_seconds={DLQ_RETENTION_SECONDS} (14 days, the maximum)",
            )


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def _tls_only(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    queues = stack.of_type(QUEUE)
    documents: dict[str, list[Any]] = {q.urn: [q.get("policy")] for q in queues}
    for policy in stack.of_type(QUEUE_POLICY):
        for queue in stack.referenced(policy, "queueUrl", policy.get("queueUrl"), queues):
            documents[queue.urn].append(policy.get("policy"))
    for queue in queues:
        found = documents[queue.urn]
        if UNKNOWN in found or denies_insecure_transport(found, "sqs:SendMessage"):
            continue
        yield violation(
            queue,
            "accepts requests over plain HTTP",
            "attach a queue policy denying Principal '*' action 'sqs:*' when aws:SecureTransport is false",
        )


def _visibility(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    queues, functions = stack.of_type(QUEUE), stack.of_type(FUNCTION)
    for mapping in stack.of_type(MAPPING):
        for queue in stack.referenced(mapping, "eventSourceArn", mapping.get("eventSourceArn"), queues):
            for fn in stack.referenced(mapping, "functionName", mapping.get("functionName"), functions):
                visibility, timeout = queue.get("visibilityTimeoutSeconds"), fn.get("timeout")
                if UNKNOWN in (visibility, timeout):
                    continue
                visibility = visibility if isinstance(visibility, int | float) else DEFAULT_VISIBILITY_SECONDS
                timeout = timeout if isinstance(timeout, int | float) else DEFAULT_FUNCTION_TIMEOUT
                if visibility < VISIBILITY_FACTOR * timeout:
                    yield violation(
                        queue,
                        f"hides a message {visibility:g}s, less than {VISIBILITY_FACTOR} x the {timeout:g}s timeout "
                        f"of '{fn.name}' that polls it: messages come back while a batch still runs",
                        f"set visibility_timeout_seconds to at least {VISIBILITY_FACTOR * timeout:g}",
                    )


RULES = [
    ResourceRule(
        "sqs-encryption",
        "SQS queues are encrypted at rest (SSE-SQS or KMS).",
        frozenset({QUEUE}),
        _encryption,
        cdk_nag=("AwsSolutions-SQS2",),
    ),
    StackRule(
        "sqs-redrive-policy",
        "Every SQS queue that is not itself a dead-letter or failure queue has a redrive policy.",
        _redrive,
        cdk_nag=("Serverless-SQSRedrivePolicy", "AwsSolutions-SQS3"),
    ),
    StackRule(
        "sqs-dlq-retention",
        "Dead-letter and failure queues keep messages 14 days.",
        _dlq_retention,
    ),
    StackRule(
        "sqs-tls-only",
        "SQS queues deny requests that do not use TLS.",
        _tls_only,
        cdk_nag=("AwsSolutions-SQS4",),
    ),
    StackRule(
        "sqs-visibility-timeout",
        "A queue polled by Lambda has a visibility timeout of at least 6 x the function's timeout.",
        _visibility,
    ),
]
