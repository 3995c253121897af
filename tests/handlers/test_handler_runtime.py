"""The shared handler runtime against moto: batches, idempotency, validation, logs and metrics."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal
from typing import Any

import boto3
import pytest
from lambda_context import FakeLambdaContext
from moto import mock_aws

from handler_runtime.batch import json_body, process_sqs_batch, process_stream_batch
from handler_runtime.errors import MalformedMessage
from handler_runtime.idempotency import Idempotency
from handler_runtime.observability import instrumented, logger, metrics
from handler_runtime.validation import FieldReader, ValidationFailed


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def stream_event(*sequence_numbers: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": f"e-{n}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"order_id": {"S": f"o-{n}"}},
                    "SequenceNumber": n,
                    "NewImage": {"order_id": {"S": f"o-{n}"}},
                },
            }
            for n in sequence_numbers
        ]
    }


@pytest.fixture
def idempotency_table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_sqs_batch_fails_only_the_malformed_and_the_raising_records():
    processed: list[dict[str, Any]] = []

    def handle(record):
        body = json_body(record)
        if body.get("boom"):
            raise RuntimeError("handler failed")
        processed.append(body)

    event = sqs_event('{"n": 1}', "not json", '{"boom": true}', '{"n": 2.5}', "[1, 2]")
    response = process_sqs_batch(event, FakeLambdaContext(), handle)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-4"}]
    }
    assert processed == [{"n": 1}, {"n": Decimal("2.5")}]


def test_a_batch_where_everything_fails_is_reported_not_raised():
    response = process_sqs_batch(sqs_event("x", "y"), FakeLambdaContext(), json_body)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}


def test_json_body_rejects_non_objects():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    with pytest.raises(MalformedMessage, match="not a JSON object"):
        json_body(SQSRecord(sqs_event("[1]")["Records"][0]))


def test_stream_batch_reports_sequence_numbers():
    def handle(record):
        if record.dynamodb.sequence_number == "200":
            raise RuntimeError("projection failed")

    response = process_stream_batch(stream_event("100", "200", "300"), FakeLambdaContext(), handle)
    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}


def test_idempotent_function_runs_once_per_key(idempotency_table, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    once = Idempotency("order_id")
    calls: list[str] = []

    @once.function
    def side_effect(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload["order_id"])
        return {"done": payload["order_id"]}

    once.register(FakeLambdaContext())  # type: ignore[arg-type]
    assert side_effect(payload={"order_id": "o-1", "n": 1}) == {"done": "o-1"}
    assert side_effect(payload={"order_id": "o-1", "n": 1}) == {"done": "o-1"}
    assert side_effect(payload={"order_id": "o-2", "n": 1}) == {"done": "o-2"}
    assert calls == ["o-1", "o-2"]
    records = idempotency_table.scan(TableName="idempotency")["Items"]
    assert len(records) == 2
    assert {r["status"]["S"] for r in records} == {"COMPLETED"}
    assert all("expiration" in r for r in records)


def test_idempotency_inside_a_batch_skips_redelivered_records(idempotency_table, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    once = Idempotency("order_id")
    effects: list[str] = []

    @once.function
    def apply(payload: dict[str, Any]) -> None:
        effects.append(payload["order_id"])

    def handler(event, context):
        once.register(context)
        return process_sqs_batch(event, context, lambda record: apply(payload=json.loads(record.body)))

    event = sqs_event('{"order_id": "a"}', '{"order_id": "b"}')
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert effects == ["a", "b"]


def test_missing_idempotency_table_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    with pytest.raises(RuntimeError, match="IDEMPOTENCY_TABLE is not set"):
        Idempotency("order_id").function(lambda payload: None)(payload={"order_id": "x"})


def test_validation_collects_every_error_at_once():
    reader = FieldReader({"customer_id": "", "items": [{"sku": "a", "qty": 0}, {"qty": 2}], "total": "12"})
    reader.string("customer_id")
    for item in reader.objects("items", min_items=1, max_items=25):
        item.string("sku")
        item.integer("qty", minimum=1)
    reader.number("total", greater_than=0)
    reader.string("request_id", required=False)
    with pytest.raises(ValidationFailed) as caught:
        reader.raise_if_invalid()
    assert [e.as_dict() for e in caught.value.errors] == [
        {"field": "customer_id", "message": "must be a non-empty string"},
        {"field": "items[0].qty", "message": "must be an integer >= 1"},
        {"field": "items[1].sku", "message": "is required"},
        {"field": "total", "message": "must be a number > 0"},
    ]


def test_validation_reads_good_values():
    reader = FieldReader({"id": "o-1", "qty": Decimal("3"), "total": 12.5, "items": [{}]})
    assert reader.string("id", pattern=r"o-\d+") == "o-1"
    assert reader.integer("qty", minimum=1) == 3
    assert reader.number("total", greater_than=0) == Decimal("12.5")
    assert len(reader.objects("items", min_items=1)) == 1
    reader.raise_if_invalid()
    assert FieldReader([1]).errors[0].as_dict() == {"field": "$", "message": "must be a JSON object"}


def test_instrumented_logs_the_correlation_id_and_flushes_metrics(capsys: pytest.CaptureFixture[str]):
    log_stream = io.StringIO()
    handler_stream = logger.registered_handler
    assert isinstance(handler_stream, logging.StreamHandler)
    previous = handler_stream.setStream(log_stream)  # Logger bound stdout when it was built, before capsys

    @instrumented(correlation_id_path="request_id")
    def handler(event, context):
        logger.info("handling")
        metrics.add_metric(name="Handled", unit="Count", value=1)
        return {"ok": True}

    try:
        assert handler({"request_id": "req-42"}, FakeLambdaContext()) == {"ok": True}
    finally:
        handler_stream.setStream(previous)
    [log] = [json.loads(line) for line in log_stream.getvalue().splitlines() if '"handling"' in line]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert log["correlation_id"] == "req-42"
    assert log["service"] == "handler-tests"
    emf = [line for line in lines if "_aws" in line and "Handled" in line]
    assert emf, lines
    directive = emf[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "HandlerTests"
    assert emf[0]["Handled"] == [1.0]
