"""Dead letters go back to their source queue with their attributes, and a failed send loses nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from redrive_fixtures import Aws

from serverless_patterns.redrive import RedriveError, redrive_dlq

ATTRIBUTES = {
    "event_type": {"DataType": "String", "StringValue": "OrderPlaced"},
    "amount": {"DataType": "Number", "StringValue": "120.5"},
    "signature": {"DataType": "Binary", "BinaryValue": b"\x00\xffsigned"},
    "tenant": {"DataType": "String.tenant", "StringValue": "acme"},
}


def dead_letters(aws: Aws, source_url: str, bodies: list[str]) -> None:
    """Send to the source and fail each message once, so SQS itself moves them to the DLQ (maxReceiveCount 1)."""
    for body in bodies:
        aws.sqs.send_message(QueueUrl=source_url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    received = 0
    while batch := aws.sqs.receive_message(QueueUrl=source_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    ):
        received += len(batch)
    assert received == len(bodies)
    assert aws.sqs.receive_message(QueueUrl=source_url).get("Messages") is None, "all are dead letters now"


def received_all(aws: Aws, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := aws.sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=600,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        found.extend(batch)
    return found


def attributes(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }


def test_dead_letters_move_back_to_the_source_found_by_list_dead_letter_source_queues(aws: Aws):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    dead_letters(aws, source, ["one", "two", "three"])

    result = redrive_dlq(aws.sqs, dlq)

    assert (result.source_url, result.moved, result.failed, result.complete) == (source, 3, 0, True)
    assert aws.bodies(dlq) == []
    moved = received_all(aws, source)
    assert sorted(m["Body"] for m in moved) == ["one", "three", "two"]
    for message in moved:
        assert attributes(message) == ATTRIBUTES, "string, number, binary and custom-typed attributes survive"
        assert message["Attributes"]["ApproximateReceiveCount"] == "1", "a fresh message, not the dead one"


def test_an_explicit_source_url_needs_no_lookup(aws: Aws):
    dlq = aws.queue("shared-dlq")
    first, second = aws.source("first", dlq), aws.source("second", dlq)
    aws.sqs.send_message(QueueUrl=dlq, MessageBody="for the second")

    result = redrive_dlq(aws.sqs, dlq, second)

    assert (result.source_url, result.moved) == (second, 1)
    assert aws.bodies(second) == ["for the second"]
    assert aws.bodies(first) == []


def test_a_dlq_without_a_source_queue_is_a_clear_error(aws: Aws):
    dlq = aws.queue("orphan-dlq")
    aws.sqs.send_message(QueueUrl=dlq, MessageBody="kept")
    with pytest.raises(RedriveError, match=r"no queue uses .*orphan-dlq as its dead-letter queue"):
        redrive_dlq(aws.sqs, dlq)
    assert aws.bodies(dlq) == ["kept"]


def test_a_dlq_shared_by_two_queues_names_both(aws: Aws):
    dlq = aws.queue("shared-dlq")
    first, second = aws.source("first", dlq), aws.source("second", dlq)
    with pytest.raises(RedriveError, match="2 queues use") as caught:
        redrive_dlq(aws.sqs, dlq)
    assert first in str(caught.value) and second in str(caught.value)


def test_the_dlq_is_refused_as_its_own_source(aws: Aws):
    dlq = aws.queue("loop-dlq")
    with pytest.raises(RedriveError, match="is the dead-letter queue itself"):
        redrive_dlq(aws.sqs, dlq, dlq)


def test_a_failed_send_leaves_that_message_in_the_dlq_and_moves_the_others(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    dead_letters(aws, source, ["a", "b", "c"])
    real_send = aws.sqs.send_message
    calls: list[str] = []

    def send_failing_second(**kwargs: Any) -> Any:
        calls.append(kwargs["MessageBody"])
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "KMS.ThrottlingException", "Message": "slow down"}}, "SendMessage")
        return real_send(**kwargs)

    monkeypatch.setattr(aws.sqs, "send_message", send_failing_second)
    result = redrive_dlq(aws.sqs, dlq)

    assert (result.moved, result.failed, result.complete) == (2, 1, False)
    assert len(result.reasons) == 1 and "KMS.ThrottlingException" in result.reasons[0]
    left = aws.bodies(dlq)
    assert left == [calls[1]], "the failed one is still in the DLQ and visible again at once"
    assert sorted(aws.bodies(source)) == sorted({"a", "b", "c"} - set(left))


def test_a_failed_delete_after_a_send_is_reported_not_counted_as_moved(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    aws.sqs.send_message(QueueUrl=dlq, MessageBody="sent twice at worst")

    def failing_delete(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "DeleteMessage")

    monkeypatch.setattr(aws.sqs, "delete_message", failing_delete)
    result = redrive_dlq(aws.sqs, dlq)

    assert (result.moved, result.failed) == (0, 1)
    assert "sent but not deleted" in result.reasons[0]
    assert aws.bodies(source) == ["sent twice at worst"]


def test_a_message_its_consumer_fails_again_during_the_run_is_left_in_the_dlq(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    aws.sqs.send_message(QueueUrl=dlq, MessageBody="poison")
    real_send = aws.sqs.send_message

    def send_and_fail_at_once(**kwargs: Any) -> Any:
        sent = real_send(**kwargs)
        for _ in range(2):  # a consumer failing it: the second receive moves it to the DLQ (maxReceiveCount 1)
            aws.sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
        return sent

    monkeypatch.setattr(aws.sqs, "send_message", send_and_fail_at_once)
    result = redrive_dlq(aws.sqs, dlq, limit=10)

    assert (result.moved, result.failed) == (1, 1)
    assert "came back to the DLQ during this run" in result.reasons[0]
    assert aws.bodies(dlq) == ["poison"]


def test_limit_moves_at_most_that_many(aws: Aws):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    for n in range(5):
        aws.sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}")

    result = redrive_dlq(aws.sqs, dlq, limit=2)

    assert (result.moved, result.failed) == (2, 0)
    assert len(aws.bodies(source)) == 2
    assert len(aws.bodies(dlq)) == 3


def test_more_than_one_receive_batch_is_drained(aws: Aws):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    for n in range(23):
        aws.sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}")

    assert redrive_dlq(aws.sqs, dlq).moved == 23
    assert sorted(aws.bodies(source)) == sorted(f"m{n}" for n in range(23))


def test_a_fifo_source_keeps_each_message_group(aws: Aws):
    dlq = aws.queue("orders-dlq.fifo", FifoQueue="true")
    source = aws.source("orders.fifo", dlq, FifoQueue="true")
    for n, group in enumerate(["g1", "g2", "g1"]):
        aws.sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}", MessageGroupId=group, MessageDeduplicationId=f"d{n}")

    assert redrive_dlq(aws.sqs, dlq).moved == 3

    moved = received_all(aws, source)
    assert {(m["Body"], m["Attributes"]["MessageGroupId"]) for m in moved} == {
        ("m0", "g1"),
        ("m1", "g2"),
        ("m2", "g1"),
    }
