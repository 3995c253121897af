"""Operations: move dead letters back to their queue, and replay the stream batches a projection gave up on.

Both work against AWS and the local cloud alike (``--endpoint-url``), using nothing but boto3 clients passed in,
so they can be run in-process against moto. Nothing is deleted from a queue before its message has been delivered
again, so a failure part-way may duplicate a delivery but never loses one: every consumer here is idempotent.

Command line::

    python -m serverless_patterns.redrive dlq --queue-url URL [--source-url URL] [--limit N]
                                              [--region R] [--endpoint-url URL]
    python -m serverless_patterns.redrive stream --failure-queue-url URL [--limit N]
                                                 [--region R] [--endpoint-url URL]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "RedriveError",
    "RedriveResult",
    "ReplayResult",
    "build_clients",
    "find_source_queue",
    "main",
    "redrive_dlq",
    "replay_stream_failures",
    "stream_lambda_record",
]

# boto3 clients are built at run time (no type stubs are installed), so they are typed as Any.
SqsClient = Any
StreamsClient = Any
LambdaClient = Any

#: Long polling asks every SQS server, so an empty answer means the queue is drained; short polling (0) samples
#: a subset of servers and can answer empty while messages remain.
RECEIVE_WAIT_SECONDS = 1
#: A received dead letter stays invisible this long: ample for one send and one delete per message of a batch.
DLQ_VISIBILITY_SECONDS = 300
#: A failure record stays invisible while its batch is replayed: Lambda's maximum timeout plus a margin.
REPLAY_VISIBILITY_SECONDS = 960
#: Empty GetRecords pages tolerated before a shard range is declared incomplete (a page can be empty mid-shard).
MAX_EMPTY_PAGES = 5
STREAM_RETENTION_HOURS = 24


class RedriveError(Exception):
    """The operation cannot run as asked (e.g. the dead-letter queue's source queue is ambiguous)."""


@dataclass
class RedriveResult:
    """What a DLQ redrive did: messages moved, messages left in the DLQ (with one-line reasons)."""

    source_url: str
    moved: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.failed == 0

    def summary(self, dlq_url: str) -> str:
        return f"dlq: moved {self.moved} message(s) from {dlq_url} to {self.source_url}; {self.failed} failed"


Outcome = Literal["replayed", "failed", "missing", "unrecognised"]


@dataclass
class ReplayResult:
    """What a stream-failure replay did; every message not replayed stays in the failure queue."""

    replayed: int = 0
    failed: int = 0
    missing: int = 0  # records no longer in the stream (expired, trimmed or unknown shard)
    unrecognised: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.failed == 0 and self.missing == 0 and self.unrecognised == 0

    def add(self, outcome: Outcome, reason: str | None) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if reason is not None:
            self.reasons.append(reason)

    def summary(self, failure_queue_url: str) -> str:
        return (
            f"stream: replayed {self.replayed} failure record(s) from {failure_queue_url}; {self.failed} failed, "
            f"{self.missing} no longer in the stream, {self.unrecognised} unrecognised"
        )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# --- dead-letter queue redrive --------------------------------------------------------------------------------


def find_source_queue(sqs: SqsClient, dlq_url: str) -> str:
    """The one queue whose redrive policy targets ``dlq_url``; a DLQ shared by several queues must be told which."""
    sources: list[str] = []
    token: str | None = None
    while True:
        page = sqs.list_dead_letter_source_queues(
            QueueUrl=dlq_url, MaxResults=1000, **({"NextToken": token} if token else {})
        )
        sources.extend(page.get("queueUrls", []))
        token = page.get("NextToken")
        if not token:
            break
    if not sources:
        raise RedriveError(f"no queue uses {dlq_url} as its dead-letter queue: name the source queue to move to")
    if len(sources) > 1:
        raise RedriveError(
            f"{len(sources)} queues use {dlq_url} as their dead-letter queue ({', '.join(sources)}): name one"
        )
    return sources[0]


def _sendable_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as SendMessage takes them: the value under its own key, none of the unused list keys."""
    sendable: dict[str, Any] = {}
    for name, value in attributes.items():
        kept = {"DataType": value["DataType"]}
        if "StringValue" in value:
            kept["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            kept["BinaryValue"] = value["BinaryValue"]
        sendable[name] = kept
    return sendable


def _make_visible(sqs: SqsClient, queue_url: str, receipts: list[str]) -> None:
    """Best effort: what was left in place is visible again for the next run instead of after its timeout."""
    for receipt in receipts:
        with contextlib.suppress(ClientError, BotoCoreError):  # if not, it is visible when its timeout ends
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)


def redrive_dlq(
    sqs: SqsClient, dlq_url: str, source_url: str | None = None, *, limit: int | None = None
) -> RedriveResult:
    """Move messages from a dead-letter queue back to its source queue, keeping body and message attributes.

    AWS's StartMessageMoveTask does the same server-side but moto does not implement it; receive, send, delete
    works on both. Each message is deleted from the DLQ only after its send succeeded, so a failure part-way loses
    nothing and duplicates at most the message in flight (the consumers are idempotent). System attributes
    (sender, timestamps, receive count) cannot be sent and are dropped; a FIFO source keeps the message group and
    deduplicates a re-sent message on its DLQ message id. Without ``source_url`` the source is the single queue
    ListDeadLetterSourceQueues names. Stops when the DLQ answers empty or after ``limit`` messages. A message
    its consumer fails again within the run comes back to the DLQ and is left there, so the run always ends.
    """
    source = source_url or find_source_queue(sqs, dlq_url)
    if source.rstrip("/") == dlq_url.rstrip("/"):
        raise RedriveError(f"the source queue is the dead-letter queue itself: {dlq_url}")
    result = RedriveResult(source_url=source)
    left: list[str] = []
    sent: set[str] = set()  # ids of the messages this run put in the source: SQS keeps them on the way back
    try:
        while limit is None or result.moved + result.failed < limit:
            wanted = 10 if limit is None else min(10, limit - result.moved - result.failed)
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=wanted,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["MessageGroupId"],
                VisibilityTimeout=DLQ_VISIBILITY_SECONDS,
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                why = _move(sqs, dlq_url, source, message, sent)
                if why is None:
                    result.moved += 1
                    continue
                result.failed += 1
                result.reasons.append(f"{message['MessageId']}: {why}")
                left.append(message["ReceiptHandle"])
    finally:
        _make_visible(sqs, dlq_url, left)
    return result


def _move(sqs: SqsClient, dlq_url: str, source: str, message: dict[str, Any], sent: set[str]) -> str | None:
    """Send one dead letter to the source, then delete it from the DLQ; why not, or None when it moved."""
    if message["MessageId"] in sent:
        return "came back to the DLQ during this run (its consumer failed it again): left there"
    send: dict[str, Any] = {"QueueUrl": source, "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        send["MessageAttributes"] = _sendable_attributes(message["MessageAttributes"])
    if source.endswith(".fifo"):
        send["MessageDeduplicationId"] = message["MessageId"]
        group = message.get("Attributes", {}).get("MessageGroupId")
        if group:
            send["MessageGroupId"] = group
    try:
        sent.add(sqs.send_message(**send)["MessageId"])
    except (ClientError, BotoCoreError) as error:
        return f"not sent, left in the DLQ: {_one_line(error)}"
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    except (ClientError, BotoCoreError) as error:
        return f"sent but not deleted from the DLQ (a later run sends it again): {_one_line(error)}"
    return None


# --- stream failure replay ------------------------------------------------------------------------------------


def _wire(value: Any) -> Any:
    """JSON for what boto3 decodes: timestamps as epoch seconds, binary attribute values base64 as on the wire."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def stream_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as Lambda's DynamoDB event source hands it to the function.

    ``record`` is what ``dynamodbstreams.get_records`` returns (boto3 decodes timestamps and binaries); the event
    is plain JSON: ApproximateCreationDateTime in epoch seconds, binary values in base64, ``eventSourceARN`` set.
    """
    event: dict[str, Any] = json.loads(json.dumps(record, default=_wire))
    created = event.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, str):
        event["dynamodb"]["ApproximateCreationDateTime"] = datetime.fromisoformat(created).timestamp()
    return {**event, "eventSourceARN": stream_arn}


class _Gone(Exception):
    """The records of a failed batch are no longer (all) in the stream."""


_GONE_ERRORS = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})


def _shards(streams: StreamsClient, stream_arn: str) -> dict[str, dict[str, Any]]:
    shards: dict[str, dict[str, Any]] = {}
    start: str | None = None
    while True:
        description = streams.describe_stream(
            StreamArn=stream_arn, **({"ExclusiveStartShardId": start} if start else {})
        )["StreamDescription"]
        shards.update({s["ShardId"]: s for s in description.get("Shards", [])})
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def _batch_records(streams: StreamsClient, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a failed batch, read from its shard from the start through the end sequence number."""
    stream_arn, shard_id = batch["streamArn"], batch["shardId"]
    first, last, size = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"]), int(batch["batchSize"])
    retention = f"stream records are kept {STREAM_RETENTION_HOURS} hours"
    try:
        shard = _shards(streams, stream_arn).get(shard_id)
        if shard is None:
            raise _Gone(f"shard {shard_id} is no longer in {stream_arn} ({retention})")
        oldest = int(shard.get("SequenceNumberRange", {}).get("StartingSequenceNumber", first))
        if first < oldest:
            raise _Gone(f"records from {first} were trimmed from shard {shard_id} ({retention})")
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"],
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        empty = 0
        while iterator and empty < MAX_EMPTY_PAGES:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in page["Records"]]
            records.extend(r for r, n in zip(page["Records"], numbers, strict=True) if first <= n <= last)
            if numbers and max(numbers) >= last:
                break
            empty = 0 if numbers else empty + 1
            iterator = page.get("NextShardIterator")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _GONE_ERRORS:
            raise _Gone(f"{_one_line(error)} ({retention})") from error
        raise
    if len(records) < size:
        raise _Gone(f"found {len(records)} of {size} records of shard {shard_id} ({retention})")
    return records


def _invoke(lambda_client: LambdaClient, function: str, event: dict[str, Any]) -> str | None:
    """Invoke synchronously; why the batch failed, or None when it succeeded as Lambda's event source reads it."""
    response = lambda_client.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        try:
            error = json.loads(payload)
            detail = f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        except (ValueError, AttributeError):
            detail = payload.decode(errors="replace")
        return f"{function} failed ({response['FunctionError']}): {' '.join(detail.split())}"
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        return None  # not JSON, hence no batch item failures
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures:
        ids = [f.get("itemIdentifier") for f in failures if isinstance(f, dict)] if isinstance(failures, list) else []
        return f"{function} reported batch item failures: {', '.join(map(str, ids)) or failures}"
    return None


def _failure_shape(body: str) -> tuple[str, dict[str, Any]] | None:
    """("stream", message) for Lambda's on-failure record of a stream batch, ("parked", message) for records a
    handler parked as malformed, None for anything else."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    context, batch = message.get("requestContext"), message.get("DDBStreamBatchInfo")
    if isinstance(context, dict) and isinstance(context.get("functionArn"), str) and isinstance(batch, dict):
        numbers = (batch.get("startSequenceNumber"), batch.get("endSequenceNumber"), batch.get("batchSize"))
        if (
            isinstance(batch.get("shardId"), str)
            and isinstance(batch.get("streamArn"), str)
            and all(str(n).isdigit() for n in numbers)
        ):
            return "stream", message
    records = message.get("records")
    if (
        message.get("condition") == "MalformedRecord"
        and isinstance(message.get("functionArn"), str)
        and isinstance(records, list)
        and records
        and all(isinstance(r, dict) for r in records)
    ):
        return "parked", message
    return None


def replay_stream_failures(
    sqs: SqsClient,
    streams: StreamsClient,
    lambda_client: LambdaClient,
    failure_queue_url: str,
    *,
    limit: int | None = None,
) -> ReplayResult:
    """Replay into their function the stream batches a mapping gave up on, and records a handler parked.

    A mapping's on-failure record holds only the batch's position (shard and sequence range), so the records are
    read back from the stream and sent as Lambda's event source would; a parked record carries its records. Each
    message is deleted only when the synchronous invocation raised nothing and reported no batch item failures;
    otherwise it stays (and is visible again at the end of the run). Stream records live 24 hours: a batch whose
    records are gone is reported and kept. Filter criteria of the mapping are not re-applied: the function gets
    every record of the range. Anything else in the queue is reported as unrecognised and left in place.
    """
    result = ReplayResult()
    left: list[str] = []
    seen: set[str] = set()  # what this run replayed: a function that parks records again must not loop it
    count = 0
    try:
        while limit is None or count < limit:
            messages = sqs.receive_message(
                QueueUrl=failure_queue_url,
                MaxNumberOfMessages=1,  # each one is a synchronous invocation: hold only the one being replayed
                VisibilityTimeout=REPLAY_VISIBILITY_SECONDS,
                WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            ).get("Messages", [])
            if not messages:
                break
            count += 1
            message = messages[0]
            outcome, why = _replay(sqs, streams, lambda_client, failure_queue_url, message=message, seen=seen)
            result.add(outcome, None if why is None else f"{message['MessageId']}: {why}")
            if outcome != "replayed":
                left.append(message["ReceiptHandle"])
    finally:
        _make_visible(sqs, failure_queue_url, left)
    return result


def _replay(
    sqs: SqsClient,
    streams: StreamsClient,
    lambda_client: LambdaClient,
    failure_queue_url: str,
    *,
    message: dict[str, Any],
    seen: set[str],
) -> tuple[Outcome, str | None]:
    """Replay one failure message: its outcome, and why it was left (None when it was replayed)."""
    shape = _failure_shape(message["Body"])
    if shape is None:
        return "unrecognised", f"unrecognised, left in place: {' '.join(message['Body'].split())[:120]}"
    kind, failure = shape
    identity = json.dumps(
        [failure.get("functionArn"), failure.get("records")]
        if kind == "parked"
        else [failure["requestContext"]["functionArn"], failure["DDBStreamBatchInfo"]],
        sort_keys=True,
    )
    if identity in seen:
        return "failed", "came back during this run (the function parked it again): left for a later run"
    seen.add(identity)
    try:
        if kind == "stream":
            batch = failure["DDBStreamBatchInfo"]
            function = failure["requestContext"]["functionArn"]
            records = [stream_lambda_record(r, batch["streamArn"]) for r in _batch_records(streams, batch)]
        else:
            function, records = failure["functionArn"], failure["records"]
        why = _invoke(lambda_client, function, {"Records": records})
    except _Gone as gone:
        return "missing", str(gone)
    except (ClientError, BotoCoreError) as error:
        return "failed", _one_line(error)
    if why is not None:
        return "failed", why
    try:
        sqs.delete_message(QueueUrl=failure_queue_url, ReceiptHandle=message["ReceiptHandle"])
    except (ClientError, BotoCoreError) as error:
        return "failed", f"replayed but not deleted (a later run replays it again): {_one_line(error)}"
    return "replayed", None


# --- command line ---------------------------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Reports a bad argument as one ``error:`` line (exit 2), like every other failure of the command."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m serverless_patterns.redrive", description="Redrive dead letters; replay stream failures."
    )
    commands = parser.add_subparsers(dest="command", metavar="{dlq,stream}", required=True, parser_class=_Parser)
    dlq = commands.add_parser("dlq", help="move messages from a dead-letter queue back to its source queue")
    dlq.add_argument("--queue-url", required=True, help="URL of the dead-letter queue")
    dlq.add_argument("--source-url", help="queue to move them to (default: the DLQ's only source queue)")
    stream = commands.add_parser("stream", help="replay the stream batches and parked records of a failure queue")
    stream.add_argument("--failure-queue-url", required=True, help="URL of the on-failure queue of the mappings")
    for command in (dlq, stream):
        command.add_argument("--limit", type=_positive, help="handle at most this many messages")
        command.add_argument("--region", help="AWS region (default: from the environment or AWS config)")
        command.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:4566 for `python -m localcloud serve`")
    return parser


def build_clients(region: str | None, endpoint_url: str | None) -> dict[str, Any]:
    """The sqs, dynamodbstreams and lambda clients for ``region``, all at ``endpoint_url`` when given.

    With an endpoint and no credentials configured, dummy credentials are used: the local cloud accepts any.
    """
    session = boto3.Session(region_name=region)
    if endpoint_url and session.get_credentials() is None:
        session = boto3.Session(region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
    region_name = session.region_name or ("us-east-1" if endpoint_url else None)
    if region_name is None:
        raise RedriveError("no AWS region: pass --region or set AWS_DEFAULT_REGION")
    retries: dict[str, Any] = {"mode": "standard", "max_attempts": 3}
    common = Config(region_name=region_name, retries=retries, connect_timeout=5)
    invoke = common.merge(Config(read_timeout=REPLAY_VISIBILITY_SECONDS - 30))  # a synchronous invoke runs ≤ 15 min
    return {
        "sqs": session.client("sqs", endpoint_url=endpoint_url, config=common),
        "dynamodbstreams": session.client("dynamodbstreams", endpoint_url=endpoint_url, config=common),
        "lambda": session.client("lambda", endpoint_url=endpoint_url, config=invoke),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one operation; 0 when everything moved or replayed, 1 when some were left, 2 when it could not run."""
    try:
        args = _parser().parse_args(argv)
        try:
            clients = build_clients(args.region, args.endpoint_url)
        except ValueError as invalid:  # botocore refuses a malformed endpoint URL
            raise RedriveError(f"--endpoint-url: {invalid}") from invalid
        if args.command == "dlq":
            moved = redrive_dlq(clients["sqs"], args.queue_url, args.source_url, limit=args.limit)
            summary, reasons, complete = moved.summary(args.queue_url), moved.reasons, moved.complete
        else:
            replayed = replay_stream_failures(
                clients["sqs"], clients["dynamodbstreams"], clients["lambda"], args.failure_queue_url, limit=args.limit
            )
            summary, reasons, complete = replayed.summary(args.failure_queue_url), replayed.reasons, replayed.complete
    except (_UsageError, RedriveError, ClientError, BotoCoreError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    print(summary)
    for reason in reasons:
        print(f"left: {reason}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
