"""The shared handler runtime against moto: batches, idempotency, validation, logs and metrics."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
from handler_runtime.validation import FieldError, FieldReader, ValidationFailed
from serverless_patterns.internals.archive import RUNTIME_ROOT


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


@pytest.fixture
def log_records() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON log lines the shared Logger writes. It bound stdout when it was built, before capsys swapped
    ``sys.stdout``, so its handler's stream is redirected instead."""
    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def emf_blobs(out: str) -> list[dict[str, Any]]:
    return [blob for blob in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if "_aws" in blob]


def test_importing_the_package_validation_and_errors_loads_nothing_heavy():
    probe = (
        "import sys, handler_runtime, handler_runtime.validation, handler_runtime.errors; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aws_lambda_powertools', 'boto3', 'botocore', 'aws_xray_sdk', 'jmespath', 'pydantic'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=RUNTIME_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


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


def test_batch_records_log_with_their_own_correlation_id(log_records):
    @instrumented()
    def handler(event, context):
        return process_sqs_batch(event, context, lambda record: logger.info("record", extra=json_body(record)))

    assert handler(sqs_event('{"n": 1}', "not json"), FakeLambdaContext()) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
    by_message = {(r["message"], r.get("correlation_id")) for r in log_records()}
    assert ("record", "m-0") in by_message
    assert ("record failed; reported in batchItemFailures", "m-1") in by_message
    assert logger.get_correlation_id() is None, "a record's id must not leak past its record"


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


class _Killed(BaseException):
    """Stands in for Lambda killing the invocation at its timeout: Powertools cannot clean up after it."""


def test_a_record_left_in_progress_by_a_killed_invocation_is_redone_after_its_deadline(idempotency_table, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    once = Idempotency("order_id")
    attempts: list[str] = []

    @once.function
    def apply(payload: dict[str, Any]) -> str:
        attempts.append(payload["order_id"])
        [record] = idempotency_table.scan(TableName="idempotency")["Items"]
        assert record["status"]["S"] == "INPROGRESS"
        assert "in_progress_expiration" in record, "the deadline comes from the registered context"
        if len(attempts) == 1:
            raise _Killed
        return "done"

    once.register(FakeLambdaContext(timeout_ms=0))  # type: ignore[arg-type]
    with pytest.raises(_Killed):
        apply(payload={"order_id": "o-1"})
    time.sleep(0.005)  # past the killed invocation's deadline
    once.register(FakeLambdaContext(aws_request_id="req-2"))  # type: ignore[arg-type]
    assert apply(payload={"order_id": "o-1"}) == "done"
    assert attempts == ["o-1", "o-1"]


def test_an_unregistered_idempotent_function_refuses_to_run(idempotency_table, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    calls: list[Any] = []

    @Idempotency("order_id").function
    def apply(payload: dict[str, Any]) -> None:
        calls.append(payload)

    with pytest.raises(RuntimeError, match=r"register\(context\)"):
        apply(payload={"order_id": "x"})
    assert calls == []
    assert idempotency_table.scan(TableName="idempotency")["Items"] == []


def test_missing_idempotency_table_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    once = Idempotency("order_id")
    once.register(FakeLambdaContext())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="IDEMPOTENCY_TABLE is not set"):
        once.function(lambda payload: None)(payload={"order_id": "x"})


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
    assert caught.value.as_dicts() == [
        {"field": "customer_id", "message": "must be a non-empty string"},
        {"field": "items[0].qty", "message": "must be an integer >= 1"},
        {"field": "items[1].sku", "message": "is required"},
        {"field": "total", "message": "must be a number > 0"},
    ]
    assert json.loads(json.dumps({"ok": False, "errors": caught.value.as_dicts()}))["errors"][1] == {
        "field": "items[0].qty",
        "message": "must be an integer >= 1",
    }
    assert str(caught.value).startswith("customer_id: must be a non-empty string; items[0].qty:")


def test_missing_required_fields_are_reported_as_required_and_optional_ones_are_not():
    reader = FieldReader({"tags": "x", "note": None})
    assert reader.integer("qty") is None
    assert reader.number("total") is None
    assert reader.objects("items") == []
    assert reader.array("tags") is None
    assert reader.integer("limit", required=False) is None
    assert reader.number("discount", required=False) is None
    assert reader.string("note", required=False) is None
    assert reader.array("labels", required=False) is None
    assert reader.errors == [
        FieldError("qty", "is required"),
        FieldError("total", "is required"),
        FieldError("items", "is required"),
        FieldError("tags", "must be a list"),
    ]


def test_wrong_types_and_bounds_are_rejected():
    reader = FieldReader(
        {"flag": True, "ratio": 1.5, "big": float("inf"), "name": "x" * 9, "code": "ab", "few": [], "many": [1, 2, 3]}
    )
    assert reader.integer("flag") is None
    assert reader.integer("ratio") is None
    assert reader.number("flag") is None
    assert reader.number("big") is None
    assert reader.string("name", max_length=8) is None
    assert reader.string("code", pattern=r"[A-Z]+") is None
    assert reader.array("few", min_items=1) is None
    assert reader.array("many", max_items=2) is None
    assert [e.field for e in reader.errors] == ["flag", "ratio", "flag", "big", "name", "code", "few", "many"]
    assert reader.errors[-2:] == [
        FieldError("few", "must have at least 1 items"),
        FieldError("many", "must have 0 to 2 items"),
    ]


def test_validation_reads_good_values():
    reader = FieldReader({"id": "o-1", "qty": Decimal("3"), "total": 12.5, "items": [{}]})
    assert reader.string("id", pattern=r"o-\d+") == "o-1"
    assert reader.integer("qty", minimum=1) == 3
    assert reader.number("total", greater_than=0) == Decimal("12.5")
    assert len(reader.objects("items", min_items=1)) == 1
    reader.raise_if_invalid()
    assert FieldReader([1]).errors[0].as_dict() == {"field": "$", "message": "must be a JSON object"}
    nested = FieldReader({"items": [1]})
    nested.objects("items")
    assert nested.errors == [FieldError("items[0]", "must be a JSON object")]


def test_instrumented_logs_the_correlation_id_and_flushes_metrics(log_records, capsys: pytest.CaptureFixture[str]):
    @instrumented(correlation_id_path="request_id")
    def handler(event, context):
        logger.info("handling")
        metrics.add_metric(name="Handled", unit="Count", value=1)
        return {"ok": True}

    assert handler({"request_id": "req-42"}, FakeLambdaContext()) == {"ok": True}
    [log] = [r for r in log_records() if r["message"] == "handling"]
    assert log["correlation_id"] == "req-42"
    assert log["service"] == "handler-tests"
    assert log["function_request_id"] == "req-1"
    [emf] = [blob for blob in emf_blobs(capsys.readouterr().out) if "Handled" in blob]
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "HandlerTests"
    assert emf["Handled"] == [1.0]
    assert emf["service"] == "handler-tests"


def test_each_invocation_flushes_its_own_metrics_and_only_the_first_is_a_cold_start(capsys):
    @instrumented()
    def handler(event, context):
        metrics.add_metric(name="Handled", unit="Count", value=event["n"])

    handler({"n": 1}, FakeLambdaContext())
    handler({"n": 2}, FakeLambdaContext())
    blobs = emf_blobs(capsys.readouterr().out)
    assert [b["Handled"] for b in blobs if "Handled" in b] == [[1.0], [2.0]]
    cold = [b for b in blobs if "ColdStart" in b]
    assert len(cold) == 1
    assert cold[0]["function_name"] == "test-function"


def test_an_invocation_without_a_correlation_id_logs_none_and_clears_the_previous_one(log_records):
    @instrumented(correlation_id_path="order_id")
    def handler(event, context):
        logger.info("handling")

    handler({"order_id": "o-7"}, FakeLambdaContext())
    handler({"something": "else"}, FakeLambdaContext())
    assert [r.get("correlation_id") for r in log_records() if r["message"] == "handling"] == ["o-7", None]


def test_idempotency_records_live_as_long_as_the_pattern_says(monkeypatch: pytest.MonkeyPatch):
    from handler_runtime.idempotency import DEFAULT_EXPIRY_SECONDS, Idempotency

    assert Idempotency("id").config.expires_after_seconds == DEFAULT_EXPIRY_SECONDS == 18 * 86400
    monkeypatch.setenv("IDEMPOTENCY_EXPIRY_SECONDS", "1300000")
    assert Idempotency("id").config.expires_after_seconds == 1_300_000
    assert Idempotency("id", expires_after_seconds=60).config.expires_after_seconds == 60
