"""Event sources emulated by the local cloud itself, with AWS's semantics (none are registered in moto).

- :class:`SqsSource`: batches up to the batch size, partial batch responses, failed messages left to their
  visibility timeout (on the local clock), receive counts and redrive to the DLQ by the queue's own policy.
- :class:`StreamSource`: DynamoDB stream batches from TRIM_HORIZON, bisect on function error, bounded retries
  with a backoff on the local clock, maximum record age, partial batch responses (checkpoint at the first
  failure), and the on-failure destination with AWS's metadata record.
- :class:`AsyncInvoker`: asynchronous invocations with retries (after 1 and 2 minutes), maximum event age and the
  on-failure destination with AWS's record.
- :class:`ScheduleSource`: schedules firing from their expressions (the ScheduledJob parser) on the local clock.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from localcloud.deploy import AsyncConfig, MappingRecord, ScheduleRecord
from serverless_patterns.internals.schedule_expression import parse_schedule
from serverless_patterns.redrive import stream_lambda_record

if TYPE_CHECKING:
    from localcloud.engine import Invocation, LocalCloud

__all__ = ["AsyncInvoker", "ScheduleSource", "SqsSource", "StreamSource", "sqs_lambda_record"]

ASYNC_RETRY_DELAYS = (60, 120)  # Lambda retries a failed async event after about 1, then 2 minutes
#: Waits between retries of a failed stream batch: 1 s doubling up to a minute (AWS documents no schedule; a
#: backoff on the local clock lets retries reach the record age the way they do on AWS, instead of spinning).
STREAM_RETRY_FIRST_SECONDS, STREAM_RETRY_MAX_SECONDS = 1.0, 60.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failed_ids(invocation: Invocation, report_failures: bool, all_ids: list[str]) -> list[str]:
    """Which records failed, as Lambda reads the response: an error fails all; a malformed response fails all."""
    if invocation.error is not None:
        return list(all_ids)
    if not report_failures:
        return []
    response = invocation.result
    if response is None or response == {} or (isinstance(response, dict) and response.get("batchItemFailures") is None):
        return []  # Lambda reads a null or empty response as complete success
    if not isinstance(response, dict) or not isinstance(response["batchItemFailures"], list):
        return list(all_ids)
    failed = [f.get("itemIdentifier") for f in response.get("batchItemFailures", []) if isinstance(f, dict)]
    if any(f not in all_ids for f in failed):
        return list(all_ids)  # an unknown identifier makes Lambda treat the whole batch as failed
    return [str(f) for f in failed]


def sqs_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message (as ReceiveMessage returns it) as Lambda's event source hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"]}
            for k, v in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class SqsSource:
    mapping: MappingRecord
    cloud: LocalCloud

    @property
    def url(self) -> str:
        return self.cloud.deployment.queue_urls[self.mapping.source_arn]

    def poll(self) -> int:
        sqs = self.cloud.client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < self.mapping.batch_size:
            batch = sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, self.mapping.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        if not messages:
            return 0
        records = [sqs_lambda_record(m, self.mapping.source_arn, self.cloud.deployment.region) for m in messages]
        invocation = self.cloud.invoke(self.mapping.function_name, {"Records": records}, source=f"sqs:{self.url}")
        failed = set(
            _failed_ids(invocation, self.mapping.report_batch_item_failures, [m["MessageId"] for m in messages])
        )
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        self.cloud.stats.sqs_batches[self.mapping.function_name] = (
            self.cloud.stats.sqs_batches.get(self.mapping.function_name, 0) + 1
        )
        return len(messages)

    def in_flight(self) -> int:
        attributes = self.cloud.client("sqs").get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessagesNotVisible", "VisibilityTimeout"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def next_visible_at(self) -> float | None:
        """When (epoch seconds, on the local clock) the first in-flight message becomes visible again, as moto
        records it; None when nothing is in flight. Waking then, not a whole visibility timeout after *now*,
        is what lets a redelivery happen when it would on AWS."""
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = self.mapping.source_arn.split(":", 5)
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            return None
        waiting = [m.visible_at for m in list(queue._messages) if not m.visible]
        return min(waiting) / 1000 if waiting else None

    def visibility_timeout(self) -> int:
        attributes = self.cloud.client("sqs").get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["VisibilityTimeout"]
        )
        return int(attributes["Attributes"]["VisibilityTimeout"])


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering: exact values, prefix, exists and anything-but, nested objects."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(_matches(sub, value.get(key, _MISSING)) for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(rule, value) for rule in pattern)
    return pattern == value


_MISSING = object()


def _matches_one(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return (value is not _MISSING) == bool(rule["exists"])
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return value is not _MISSING and value not in (excluded if isinstance(excluded, list) else [excluded])
        return False
    return value == rule


@dataclass
class StreamSource:
    mapping: MappingRecord
    cloud: LocalCloud
    checkpoints: dict[str, str] = field(default_factory=dict)  # shard → last sequence number done
    attempts: int = 0  # failed attempts of the current batch
    limit: int | None = None  # batch size after bisecting
    retry_at: datetime | None = None  # when the failed batch is tried again (local clock)

    def _pending(self) -> list[tuple[str, dict[str, Any]]]:
        streams = self.cloud.client("dynamodbstreams")
        pending: list[tuple[str, dict[str, Any]]] = []
        description = streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            position = self.checkpoints.get(shard_id)
            iterator = streams.get_shard_iterator(
                StreamArn=self.mapping.source_arn,
                ShardId=shard_id,
                **(
                    {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                    if position
                    else {"ShardIteratorType": "TRIM_HORIZON"}
                ),
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                pending.extend((shard_id, r) for r in page["Records"])
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return pending

    def _event_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return stream_lambda_record(record, self.mapping.source_arn)

    def _age_seconds(self, record: dict[str, Any]) -> float:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            created_at = created if created.tzinfo else created.replace(tzinfo=UTC)
            return (self.cloud.clock.now() - created_at).total_seconds()
        return 0.0

    def quiet(self) -> bool:
        return not self._pending()

    def poll(self) -> int:
        if self.retry_at is not None and self.cloud.clock.now() < self.retry_at:
            return 0
        pending = self._pending()
        if not pending:
            return 0
        shard_id = pending[0][0]
        pending = [r for s, r in pending if s == shard_id]
        size = min(self.mapping.batch_size, self.limit or self.mapping.batch_size)
        batch = pending[:size]
        max_age = self.mapping.max_record_age_seconds
        if max_age >= 0:
            stale = [r for r in batch if self._age_seconds(r) > max_age]
            if stale:
                self._fail_over(shard_id, stale, "RecordAgeExceeded", None)
                return len(stale)
        wanted = [
            r
            for r in batch
            if not self.mapping.filter_patterns
            or any(_matches(p, self._event_record(r)) for p in self.mapping.filter_patterns)
        ]
        if not wanted:
            self._done(shard_id, batch[-1])
            return len(batch)
        oldest = max(self._age_seconds(r) for r in wanted)
        self.cloud.metrics.put(
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": self.mapping.function_name},
            oldest * 1000,
            unit="Milliseconds",
        )
        invocation = self.cloud.invoke(
            self.mapping.function_name,
            {"Records": [self._event_record(r) for r in wanted]},
            source=f"stream:{self.mapping.source_arn}",
        )
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed = _failed_ids(
            invocation, self.mapping.report_batch_item_failures, [r["dynamodb"]["SequenceNumber"] for r in wanted]
        )
        if not failed:
            self._done(shard_id, batch[-1])
            return len(batch)
        if invocation.error is not None and self.mapping.bisect_on_error and len(batch) > 1:
            self.limit = max(1, len(batch) // 2)  # retry the first half on its own
            return len(batch)
        first = min(sequences.index(s) for s in failed)
        if first > 0:
            self._done(shard_id, batch[first - 1])  # checkpoint before the first failure
        self.attempts += 1
        retries = self.mapping.max_retry_attempts
        if retries >= 0 and self.attempts > retries:
            self._fail_over(shard_id, batch[first:], "RetryAttemptsExhausted", invocation)
        else:
            wait = min(STREAM_RETRY_FIRST_SECONDS * 2 ** (self.attempts - 1), STREAM_RETRY_MAX_SECONDS)
            self.retry_at = self.cloud.clock.now() + timedelta(seconds=wait)
        return len(batch)

    def _done(self, shard_id: str, last: dict[str, Any]) -> None:
        self.checkpoints[shard_id] = last["dynamodb"]["SequenceNumber"]
        self.attempts = 0
        self.limit = None
        self.retry_at = None

    def _fail_over(
        self, shard_id: str, records: list[dict[str, Any]], condition: str, invocation: Invocation | None
    ) -> None:
        """Send AWS's failure record for ``records`` to the on-failure destination and move past them."""
        destination = self.mapping.on_failure_arn
        if destination is not None:
            function = self.cloud.deployment.functions[self.mapping.function_name]
            first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
            record = {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": function.arn,
                    "condition": condition,
                    "approximateInvokeCount": self.attempts + 1,
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled" if invocation and invocation.error else "",
                },
                "version": "1.0",
                "timestamp": _iso(self.cloud.clock.now()),
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": str(first.get("ApproximateCreationDateTime")),
                    "approximateArrivalOfLastRecord": str(last.get("ApproximateCreationDateTime")),
                    "batchSize": len(records),
                    "streamArn": self.mapping.source_arn,
                },
            }
            self.cloud.send_to_destination(destination, record)
        self._done(shard_id, records[-1])


@dataclass
class _AsyncEvent:
    function: str
    event: Any
    enqueued: datetime
    due: datetime
    attempts: int = 0
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class AsyncInvoker:
    cloud: LocalCloud
    queue: list[_AsyncEvent] = field(default_factory=list)

    def submit(self, function: str, event: Any) -> str:
        now = self.cloud.clock.now()
        item = _AsyncEvent(function, event, now, now)
        self.queue.append(item)
        return item.request_id

    def next_due(self) -> datetime | None:
        return min((e.due for e in self.queue), default=None)

    def poll(self) -> int:
        now = self.cloud.clock.now()
        due = [e for e in self.queue if e.due <= now]
        for item in due:
            self.queue.remove(item)
            config = self.cloud.deployment.async_configs.get(item.function, AsyncConfig())
            if (now - item.enqueued).total_seconds() > config.max_event_age_seconds:
                self._fail(item, config, "EventAgeExceeded", None)
                continue
            invocation = self.cloud.invoke(item.function, item.event, source="async")
            item.attempts += 1
            if invocation.error is None:
                continue
            if item.attempts > config.max_retry_attempts:
                self._fail(item, config, "RetriesExhausted", invocation)
                continue
            item.due = now + timedelta(seconds=ASYNC_RETRY_DELAYS[min(item.attempts - 1, 1)])
            self.queue.append(item)
        return len(due)

    def _fail(self, item: _AsyncEvent, config: AsyncConfig, condition: str, invocation: Invocation | None) -> None:
        if config.on_failure_arn is None:
            return
        function = self.cloud.deployment.functions[item.function]
        self.cloud.send_to_destination(
            config.on_failure_arn,
            {
                "version": "1.0",
                "timestamp": _iso(self.cloud.clock.now()),
                "requestContext": {
                    "requestId": item.request_id,
                    "functionArn": f"{function.arn}:$LATEST",
                    "condition": condition,
                    "approximateInvokeCount": item.attempts,
                },
                "requestPayload": item.event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": invocation.error.payload() if invocation and invocation.error else None,
            },
        )


@dataclass
class ScheduleSource:
    record: ScheduleRecord
    cloud: LocalCloud
    last: datetime
    fired: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.schedule = parse_schedule(self.record.expression, self.record.timezone)
        self.origin = self.last
        if self.record.start_date:  # nothing fires before the start date; a rate counts from it
            start = datetime.fromisoformat(self.record.start_date.replace("Z", "+00:00"))
            if start > self.last:
                self.origin, self.last = start, start - timedelta(microseconds=1)

    def next_fire(self) -> datetime | None:
        return self.schedule.next_after(self.last, start=self.origin)

    def poll(self) -> int:
        now, fired = self.cloud.clock.now(), 0
        while (fire := self.next_fire()) is not None and fire <= now and fired < 10_000:
            self.last = fire
            if self.record.end_date and fire > datetime.fromisoformat(self.record.end_date.replace("Z", "+00:00")):
                break
            payload = self.record.input.replace(
                "<aws.scheduler.scheduled-time>", fire.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            function = self.record.target_arn.split(":function:")[-1].split(":")[0]
            self.cloud.invoke_async(function, json.loads(payload))
            self.fired.append(fire)
            fired += 1
        return fired
