"""A stream batch a mapping gave up on is read back from the stream and replayed into its function."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from redrive_fixtures import REGION, Aws

from serverless_patterns.redrive import replay_stream_failures, stream_lambda_record


def write_orders(aws: Aws) -> None:
    """Four changes: insert o-1, insert o-2, modify o-1 (with its old image), insert o-3."""
    aws.dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o-1"}, "status": {"S": "PENDING"}})
    aws.dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o-2"}, "status": {"S": "PENDING"}})
    aws.dynamodb.update_item(
        TableName="orders",
        Key={"pk": {"S": "o-1"}},
        UpdateExpression="SET #s = :s, #t = :t",
        ExpressionAttributeNames={"#s": "status", "#t": "total"},
        ExpressionAttributeValues={":s": {"S": "CONFIRMED"}, ":t": {"N": "120.5"}},
    )
    aws.dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o-3"}, "status": {"S": "PENDING"}})


def lambda_failure(function_arn: str, stream_arn: str, shard: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The on-failure record Lambda sends for a stream batch it gave up on: the batch's position, no records."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": first["ApproximateCreationDateTime"].isoformat(),
            "approximateArrivalOfLastRecord": last["ApproximateCreationDateTime"].isoformat(),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def failure_queue(aws: Aws, *messages: Any) -> str:
    url = aws.queue("orders-projection-failures")
    for message in messages:
        aws.sqs.send_message(QueueUrl=url, MessageBody=message if isinstance(message, str) else json.dumps(message))
    return url


def replay(aws: Aws, url: str, **kwargs: Any):
    return replay_stream_failures(aws.sqs, aws.streams, aws.lambda_, url, **kwargs)


def test_a_failed_batch_is_replayed_with_exactly_its_records_in_lambdas_shape(aws: Aws):
    function_arn = aws.function("projection")
    stream_arn = aws.table()
    write_orders(aws)
    shard, records = aws.stream_records(stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "MODIFY", "INSERT"]
    url = failure_queue(aws, lambda_failure(function_arn, stream_arn, shard, records[1:3]))

    result = replay(aws, url)

    assert (result.replayed, result.failed, result.missing, result.unrecognised) == (1, 0, 0, 0)
    assert result.complete and result.reasons == []
    assert len(aws.received) == 1
    name, event = aws.received[0]
    assert name == "projection"
    assert list(event) == ["Records"]
    got = event["Records"]
    assert [r["eventID"] for r in got] == [r["eventID"] for r in records[1:3]], "the range, nothing either side"
    for sent, raw in zip(got, records[1:3], strict=True):
        assert sent["eventSourceARN"] == stream_arn
        assert (sent["eventSource"], sent["eventVersion"], sent["awsRegion"]) == ("aws:dynamodb", "1.0", REGION)
        assert sent["eventName"] == raw["eventName"]
        created = sent["dynamodb"]["ApproximateCreationDateTime"]
        assert isinstance(created, int | float) and not isinstance(created, bool)
        assert created == pytest.approx(raw["dynamodb"]["ApproximateCreationDateTime"].timestamp())
        for key in ("Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
            assert sent["dynamodb"][key] == raw["dynamodb"][key]
    assert "OldImage" not in got[0]["dynamodb"]
    assert got[1]["dynamodb"]["OldImage"] == {"pk": {"S": "o-1"}, "status": {"S": "PENDING"}}
    assert got[1]["dynamodb"]["NewImage"]["total"] == {"N": "120.5"}
    assert aws.bodies(url) == [], "a replayed batch leaves the failure queue"


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("raise", "RuntimeError: projection failed"), ("partial", "reported batch item failures")],
)
def test_a_batch_the_function_fails_again_stays_in_the_failure_queue(aws: Aws, behaviour: str, reason: str):
    function_arn = aws.function("projection", behaviour)
    stream_arn = aws.table()
    write_orders(aws)
    shard, records = aws.stream_records(stream_arn)
    failure = lambda_failure(function_arn, stream_arn, shard, records[:2])
    url = failure_queue(aws, failure)

    result = replay(aws, url)

    assert (result.replayed, result.failed, result.complete) == (0, 1, False)
    assert reason in result.reasons[0]
    assert len(aws.received) == 1 and len(aws.received[0][1]["Records"]) == 2
    assert [json.loads(b) for b in aws.bodies(url)] == [failure], "kept as it was, visible again"


def test_records_a_handler_parked_as_malformed_are_replayed_as_it_received_them(aws: Aws):
    function_arn = aws.function("projection")
    parked_records = [
        {
            "eventID": f"e-{n}",
            "eventName": name,
            "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"pk": {"S": key}}},
        }
        for n, name, key in [(1, "INSERT", "x"), (2, "REMOVE", "y")]
    ]
    parked = {
        "version": "1.0",
        "condition": "MalformedRecord",
        "functionArn": function_arn,
        "errorMessage": "record e-1 has no NewImage",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "records": parked_records,
    }
    url = failure_queue(aws, parked)

    result = replay(aws, url)

    assert (result.replayed, result.failed) == (1, 0)
    assert aws.received == [("projection", {"Records": parked_records})]
    assert aws.bodies(url) == []


def test_parked_records_the_function_still_rejects_stay(aws: Aws):
    function_arn = aws.function("projection", "raise")
    parked = {
        "version": "1.0",
        "condition": "MalformedRecord",
        "functionArn": function_arn,
        "errorMessage": "bad",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "records": [{"eventID": "e-1", "dynamodb": {"SequenceNumber": "100000000000000000001"}}],
    }
    url = failure_queue(aws, parked)

    result = replay(aws, url)

    assert (result.replayed, result.failed) == (0, 1)
    assert [json.loads(b) for b in aws.bodies(url)] == [parked]


def test_records_the_function_parks_again_are_replayed_once_per_run(aws: Aws):
    url = failure_queue(aws)
    function_arn = aws.function("projection", "park", FAILURE_QUEUE_URL=url)
    parked = {
        "version": "1.0",
        "condition": "MalformedRecord",
        "functionArn": function_arn,
        "errorMessage": "bad",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "records": [{"eventID": "e-1"}],
    }
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(parked))

    result = replay(aws, url, limit=10)

    assert (result.replayed, result.failed) == (1, 1), "the copy it parked is not replayed again in this run"
    assert "came back during this run" in result.reasons[0]
    assert len(aws.received) == 1
    assert [json.loads(b)["records"] for b in aws.bodies(url)] == [[{"eventID": "e-1"}]]


def test_a_function_that_no_longer_exists_is_a_failure_and_the_message_stays(aws: Aws):
    parked = {
        "version": "1.0",
        "condition": "MalformedRecord",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:gone",
        "errorMessage": "bad",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "records": [{"eventID": "e-1"}],
    }
    url = failure_queue(aws, parked)

    result = replay(aws, url)

    assert (result.replayed, result.failed) == (0, 1)
    assert "ResourceNotFoundException" in result.reasons[0]
    assert len(aws.bodies(url)) == 1


def test_anything_else_in_the_queue_is_unrecognised_and_left_in_place(aws: Aws):
    function_arn = aws.function("projection")
    async_failure = {
        "version": "1.0",
        "requestContext": {"functionArn": f"{function_arn}:$LATEST", "condition": "RetriesExhausted"},
        "requestPayload": {"order_id": "o-1"},
    }
    strangers = ["not json at all", json.dumps([1, 2]), json.dumps(async_failure)]
    url = failure_queue(aws, *strangers)

    result = replay(aws, url)

    assert (result.replayed, result.failed, result.missing, result.unrecognised) == (0, 0, 0, 3)
    assert all("unrecognised" in r for r in result.reasons)
    assert aws.received == []
    assert sorted(aws.bodies(url)) == sorted(strangers)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("trimmed", "were trimmed"),
        ("unknown shard", "is no longer in"),
        ("past the end", "found 0 of 2 records"),
        ("partly gone", "found 1 of 2 records"),
        ("table deleted", "ResourceNotFoundException"),
    ],
)
def test_records_no_longer_in_the_stream_are_reported_and_the_message_kept(aws: Aws, case: str, reason: str):
    function_arn = aws.function("projection")
    stream_arn = aws.table()
    write_orders(aws)
    shard, records = aws.stream_records(stream_arn)
    failure = lambda_failure(function_arn, stream_arn, shard, records[:2])
    batch = failure["DDBStreamBatchInfo"]
    last = int(records[-1]["dynamodb"]["SequenceNumber"])
    if case == "trimmed":
        batch["startSequenceNumber"] = str(int(records[0]["dynamodb"]["SequenceNumber"]) - 10)
    elif case == "unknown shard":
        batch["shardId"] = "shardId-00000001000000000000-0badf00d"
    elif case == "past the end":
        batch["startSequenceNumber"], batch["endSequenceNumber"] = str(last + 1), str(last + 2)
    elif case == "partly gone":
        batch["startSequenceNumber"], batch["endSequenceNumber"] = str(last), str(last + 1)
    else:
        aws.dynamodb.delete_table(TableName="orders")
    url = failure_queue(aws, failure)

    result = replay(aws, url)

    assert (result.replayed, result.failed, result.missing, result.complete) == (0, 0, 1, False)
    assert reason in result.reasons[0] and "24 hours" in result.reasons[0]
    assert aws.received == [], "a partial batch is never replayed"
    assert [json.loads(b) for b in aws.bodies(url)] == [failure]


def test_limit_replays_at_most_that_many_and_a_mixed_queue_is_counted_per_kind(aws: Aws):
    function_arn = aws.function("projection")
    stream_arn = aws.table()
    write_orders(aws)
    shard, records = aws.stream_records(stream_arn)
    batches = [lambda_failure(function_arn, stream_arn, shard, [r]) for r in records]
    url = failure_queue(aws, *batches)

    first = replay(aws, url, limit=3)
    assert (first.replayed, len(aws.received)) == (3, 3)
    rest = replay(aws, url)
    assert rest.replayed == 1
    replayed = sorted(e["Records"][0]["eventID"] for _, e in aws.received)
    assert replayed == sorted(r["eventID"] for r in records), "each record exactly once over both runs"


def test_stream_lambda_record_is_plain_json_with_epoch_seconds_and_base64_binaries():
    created = datetime(2026, 11, 25, 10, 0, 1, 500000, tzinfo=UTC)
    record = {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"pk": {"S": "o-1"}},
            "NewImage": {"pk": {"S": "o-1"}, "blob": {"B": b"\x00\x01"}, "blobs": {"BS": [b"a", b"b"]}},
            "OldImage": {"pk": {"S": "o-1"}},
            "SequenceNumber": "111",
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-25T10:00:00.000"

    event = stream_lambda_record(record, arn)

    assert json.loads(json.dumps(event)) == event
    assert event["eventSourceARN"] == arn
    assert event["dynamodb"]["ApproximateCreationDateTime"] == created.timestamp() == 1795600801.5
    assert event["dynamodb"]["NewImage"]["blob"] == {"B": base64.b64encode(b"\x00\x01").decode()}
    assert event["dynamodb"]["NewImage"]["blobs"] == {"BS": ["YQ==", "Yg=="]}
    assert {k: v for k, v in event.items() if k not in ("dynamodb", "eventSourceARN")} == {
        k: v for k, v in record.items() if k != "dynamodb"
    }
    assert record["dynamodb"]["ApproximateCreationDateTime"] is created, "the input is left alone"
