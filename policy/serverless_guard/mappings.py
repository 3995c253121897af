"""Event source mappings: a stream mapping bisects, gives up and keeps what it gave up on; an SQS mapping reports
partial batch failures."""

from __future__ import annotations

from collections.abc import Iterator

from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, Violation, number, violation
from serverless_guard.types import MAPPING

__all__ = ["RULES", "source_kind"]


def source_kind(mapping: Resource) -> str | None:
    """``stream`` (DynamoDB or Kinesis), ``sqs``, another kind, or None when the source is not known yet.

    An unknown source with a starting position and no Kafka settings is a stream: only streams and Kafka take one.
    """
    source = mapping.get("eventSourceArn")
    if isinstance(source, str):
        if (":dynamodb:" in source and "/stream/" in source) or ":kinesis:" in source:
            return "stream"
        return "sqs" if ":sqs:" in source else "other"
    kafka = mapping.get("topics") or mapping.get("selfManagedEventSource")
    if mapping.get("startingPosition") not in (None, UNKNOWN) and not kafka:
        return "stream"
    return None


def _stream_failures(mapping: Resource, _: GuardConfig) -> Iterator[Violation]:
    if source_kind(mapping) != "stream":
        return
    if mapping.get("bisectBatchOnFunctionError") not in (True, UNKNOWN):
        yield violation(
            mapping,
            "does not bisect a failing batch: one bad record holds back its whole batch",
            "set bisect_batch_on_function_error=True",
        )
    for key, setting, meaning in (
        ("maximumRetryAttempts", "maximum_retry_attempts", "retries"),
        ("maximumRecordAgeInSeconds", "maximum_record_age_in_seconds", "record age"),
    ):
        value = mapping.get(key)
        if value is not UNKNOWN and (value is None or number(value) == -1):
            yield violation(
                mapping,
                f"has unbounded {meaning} ({key} {'unset' if value is None else -1}): a poison record blocks the "
                "shard until it leaves the stream",
                f"set {setting} to a bound (the Cqrs pattern retries until records are 6 hours old)",
            )
    if mapping.get("destinationConfig", "onFailure", "destinationArn") in (None, ""):
        yield violation(
            mapping,
            "has no on-failure destination: records it gives up on are lost",
            "set destination_config={'on_failure': {'destination_arn': <failure queue ARN>}}",
        )


def _partial_batch(mapping: Resource, _: GuardConfig) -> Iterator[Violation]:
    if source_kind(mapping) != "sqs":
        return
    types = mapping.get("functionResponseTypes")
    if types is UNKNOWN or (isinstance(types, list | tuple) and "ReportBatchItemFailures" in types):
        return
    yield violation(
        mapping,
        "does not report batch item failures: one failed message makes the whole batch come back",
        "set function_response_types=['ReportBatchItemFailures'] and return batchItemFailures from the handler",
    )


RULES = [
    ResourceRule(
        "stream-mapping-failure-handling",
        "DynamoDB and Kinesis mappings bisect on error, bound retries and record age, and have an on-failure "
        "destination.",
        frozenset({MAPPING}),
        _stream_failures,
        cdk_nag=("Serverless-LambdaEventSourceMappingDestination",),
    ),
    ResourceRule(
        "sqs-mapping-partial-batch",
        "SQS mappings report batch item failures.",
        frozenset({MAPPING}),
        _partial_batch,
    ),
]
