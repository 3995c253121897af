"""The SQS and DynamoDB stream emulators against AWS semantics, on the deployed dev stack."""

from __future__ import annotations

import itertools

from cloud_helpers import FULFILMENT, SUMMARY, invocations, messages, order, place, publish, queue_url

from localcloud.engine import LocalCloud
from localcloud.sources import StreamSource

# SQS ---------------------------------------------------------------------------------------------------------------


def test_sqs_partial_batch_and_visibility_timeout(cloud: LocalCloud):
    publish(cloud, "{not json")
    cloud.drain(settle_in_flight=False)
    assert len(invocations(cloud, FULFILMENT)) == 1
    assert cloud.queue_depth(queue_url(cloud, "fulfilment")) == 1, "the failed message waits out its visibility"
    cloud.drain(settle_in_flight=False)
    assert len(invocations(cloud, FULFILMENT)) == 1, "not visible again before the timeout"
    cloud.advance(seconds=181)  # 6 x the 30 s function timeout
    cloud.drain(settle_in_flight=False)
    assert len(invocations(cloud, FULFILMENT)) == 2


def test_sqs_redrive_to_the_dlq_after_max_receive_count(cloud: LocalCloud):
    publish(cloud, "{not json")
    cloud.drain()  # settles in-flight messages by advancing the clock past each visibility timeout
    assert len(invocations(cloud, FULFILMENT)) == 5
    assert cloud.queue_depth(queue_url(cloud, "fulfilment")) == 0
    assert messages(cloud, cloud.outputs["subscriber_dlq_urls"]["fulfilment"]) == ["{not json"]


def test_sqs_a_bad_message_fails_alone_in_its_batch(cloud: LocalCloud):
    good = place(cloud, "good")
    publish(cloud, "{not json")
    cloud.drain()
    assert order(cloud, good["order_id"])["status"] == "CONFIRMED"
    batches = [len(i.event["Records"]) for i in invocations(cloud, FULFILMENT)]
    assert sum(batches) == 1 + 5  # the good event once, the bad one on each of its 5 receives


# DynamoDB streams -------------------------------------------------------------------------------------------------


def stream_source(cloud: LocalCloud, function: str) -> StreamSource:
    return next(s for s in cloud.stream_sources if s.mapping.function_name == function)


def test_stream_bisects_retries_then_sends_the_failure_record(cloud: LocalCloud):
    stream_source(cloud, SUMMARY).mapping.max_retry_attempts = 3  # the stack's projections retry up to 10000 times
    cloud.fail_next(SUMMARY, "ProjectionBroken", times=100)
    place(cloud, "a")
    place(cloud, "b")
    started = cloud.clock.now()
    cloud.drain()
    summaries = invocations(cloud, SUMMARY)
    sizes = [len(i.event["Records"]) for i in summaries][:5]
    assert sizes == [2, 1, 1, 1, 1]  # bisect, then 1 try + 3 retries of the first record
    waits = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(summaries[1:5])]
    assert waits == [1, 2, 4], "retries back off on the local clock"
    assert cloud.clock.now() > started
    failure_url = cloud.deployment.queue_urls["arn:aws:sqs:us-east-1:123456789012:orders-customer-summary-failures"]
    records = messages(cloud, failure_url)
    assert len(records) >= 2
    first = records[0]
    assert first["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert first["requestContext"]["functionArn"].endswith(f":function:{SUMMARY}")
    info = first["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/orders-table/stream/")
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_stream_partial_batch_response_checkpoints_at_the_first_failure(cloud: LocalCloud):
    def fail_second(real, event):
        records = event["Records"]
        if len(records) < 2:
            return real(event)
        real({"Records": records[:1]})
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[1:]]}

    cloud.inject_fault(SUMMARY, fail_second)
    place(cloud, "a", customer="c-9")
    place(cloud, "b", customer="c-9")
    place(cloud, "c", customer="c-9")
    cloud.drain()
    first, second = invocations(cloud, SUMMARY)[:2]
    sequences = [r["dynamodb"]["SequenceNumber"] for r in first.event["Records"]]
    assert second.event["Records"][0]["dynamodb"]["SequenceNumber"] == sequences[1]
    summary = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["customer_orders_table"], Key={"customer_id": {"S": "c-9"}}
    )["Item"]
    assert summary["placed"] == {"N": "3"}, "every record applied exactly once"


def test_stream_records_older_than_the_maximum_age_go_to_the_failure_queue(cloud: LocalCloud):
    placed = place(cloud, "old")
    cloud.clock.advance(6 * 3600 + 1)  # past the projections' 6 h maximum record age, before any poll
    cloud.drain()  # (the expiry job also ran meanwhile: its MODIFY record is fresh and is delivered)
    delivered = [r["eventName"] for i in invocations(cloud, SUMMARY) for r in i.event["Records"]]
    assert "INSERT" not in delivered
    assert order(cloud, placed["order_id"])["status"] == "EXPIRED", "the saga never started: its event was too old"
    failure_url = cloud.deployment.queue_urls["arn:aws:sqs:us-east-1:123456789012:orders-customer-summary-failures"]
    [record] = messages(cloud, failure_url)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
