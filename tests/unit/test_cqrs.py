"""The Cqrs component under Pulumi mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, iam_findings, statements

from serverless_patterns import ArgumentError, Cqrs, CqrsArgs, grant

EVENTS_TOPIC = "arn:aws:sns:us-east-1:123456789012:events"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/w-table/stream/2026-01-01T00:00:00.000"


def cqrs_args(**overrides: Any) -> CqrsArgs:
    base: dict[str, Any] = {
        "alarm_topic_arn": TOPIC,
        "handlers_root": FIXTURE_HANDLERS,
        "write_table": {"partition_key": {"name": "id", "type": "S"}},
        "read_models": [{"name": "summary", "partition_key": {"name": "customer_id", "type": "S"}}],
        "command_handlers": [{"name": "place", "handler_package": "sample", "handler": "app.handler"}],
        "projections": [
            {"name": "summarise", "handler_package": "sample", "handler": "app.handler", "read_models": ["summary"]},
            {
                "name": "publish",
                "handler_package": "sample",
                "handler": "app.handler",
                "grants": [grant(["sns:Publish"], [EVENTS_TOPIC])],
            },
        ],
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def tables(run) -> dict[str, dict[str, Any]]:
    return {t.name: t.inputs for t in run.of_type("aws:dynamodb/table:Table")}


def policy_of(run, name: str) -> dict[str, str | list[str]]:
    resources: dict[str, str | list[str]] = {}
    for statement in statements(run.named(f"{name}-policy")):
        for action in statement["Action"]:
            resources[action] = statement["Resource"]
    return resources


def test_write_table_always_streams_and_is_protected_by_default(declare):
    run = declare(lambda: Cqrs("w", cqrs_args()))
    write = tables(run)["w-table"]
    assert (write["streamEnabled"], write["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
    assert {t["deletionProtectionEnabled"] for t in tables(run).values()} == {True}
    assert tables(run)["w-summary"]["hashKey"] == "customer_id"
    assert "streamEnabled" not in tables(run)["w-summary"] or tables(run)["w-summary"]["streamEnabled"] is False


def test_command_handler_writes_the_write_table_only(declare):
    run = declare(lambda: Cqrs("w", cqrs_args()))
    grants = policy_of(run, "w-place")
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/w-table"
    assert {a: r for a, r in grants.items() if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem": table,
        "dynamodb:PutItem": table,
        "dynamodb:UpdateItem": table,
    }
    [fn] = [f for f in run.of_type("aws:lambda/function:Function") if f.name == "w-place"]
    assert fn.inputs["environment"]["variables"]["WRITE_TABLE"] == "w-table"


def test_projection_defaults(declare):
    run = declare(lambda: Cqrs("w", cqrs_args()))
    mapping = run.named("w-summarise-mapping").inputs
    assert mapping["eventSourceArn"] == STREAM
    assert mapping["startingPosition"] == "TRIM_HORIZON"
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (100, 0)
    assert mapping["bisectBatchOnFunctionError"] is True
    # retried until the records are 6 h old (an outage that long loses nothing), 18 h left to replay the rest
    assert (mapping["maximumRetryAttempts"], mapping["maximumRecordAgeInSeconds"]) == (10000, 6 * 3600)
    assert mapping["parallelizationFactor"] == 1
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["destinationConfig"] == {
        "onFailure": {"destinationArn": "arn:aws:sqs:us-east-1:123456789012:w-summarise-failures"}
    }
    assert "filterCriteria" not in mapping
    queue = run.named("w-summarise-failures", "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    function = run.named("w-summarise-projection", "aws:lambda/function:Function").inputs
    assert function["environment"]["variables"]["FAILURE_QUEUE_URL"] == queue.state["url"], "malformed records"
    assert not run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")


def test_projection_iam_names_only_its_stream_its_tables_and_its_topic(declare):
    run = declare(lambda: Cqrs("w", cqrs_args()))
    summarise = policy_of(run, "w-summarise-projection")
    summary = "arn:aws:dynamodb:us-east-1:123456789012:table/w-summary"
    assert {a: r for a, r in summarise.items() if not a.startswith(("logs:", "xray:"))} == {
        "dynamodb:DescribeStream": STREAM,
        "dynamodb:GetRecords": STREAM,
        "dynamodb:GetShardIterator": STREAM,
        "dynamodb:ListStreams": "*",
        "sqs:SendMessage": "arn:aws:sqs:us-east-1:123456789012:w-summarise-failures",
        "dynamodb:ConditionCheckItem": summary,
        "dynamodb:DeleteItem": summary,
        "dynamodb:GetItem": summary,
        "dynamodb:PutItem": summary,
        "dynamodb:UpdateItem": summary,
    }
    publish = policy_of(run, "w-publish-projection")
    assert publish["sns:Publish"] == EVENTS_TOPIC
    assert not [a for a in publish if a in {"dynamodb:PutItem", "dynamodb:UpdateItem"}], "publisher writes no table"
    assert publish["sqs:SendMessage"] == "arn:aws:sqs:us-east-1:123456789012:w-publish-failures"
    functions = {f.name: f.inputs["environment"]["variables"] for f in run.of_type("aws:lambda/function:Function")}
    assert functions["w-summarise-projection"]["SUMMARY_TABLE"] == "w-summary"
    assert "SUMMARY_TABLE" not in functions["w-publish-projection"]
    assert iam_findings(run)[1] == []


def test_alarms(declare):
    run = declare(lambda: Cqrs("w", cqrs_args()))
    alarms = {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    iterator = alarms["w-summarise-iterator-age"]
    assert (iterator["metricName"], iterator["statistic"], iterator["period"]) == ("IteratorAge", "Maximum", 60)
    assert (iterator["threshold"], iterator["comparisonOperator"]) == (60000, "GreaterThanThreshold")
    assert alarms["w-summarise-failures-depth"]["dimensions"] == {"QueueName": "w-summarise-failures"}
    assert alarms["w-summarise-projection-errors"]["metricName"] == "Errors"
    for table in ("w-table", "w-summary"):
        assert alarms[f"{table}-read-throttles"]["metricName"] == "ReadThrottleEvents"
        assert alarms[f"{table}-write-throttles"]["metricName"] == "WriteThrottleEvents"
        system = alarms[f"{table}-system-errors"]
        queries = system["metricQueries"]
        expression = next(q for q in queries if "expression" in q)
        metrics = [q for q in queries if "metric" in q]
        assert expression["returnData"] is True
        assert expression["expression"] == "SUM([" + ",".join(m["id"] for m in metrics) + "])"
        assert {m["metric"]["metricName"] for m in metrics} == {"SystemErrors"}
        assert all(m["metric"]["dimensions"]["TableName"] == table for m in metrics)
        assert len(metrics) <= 10
    operations = {
        q["metric"]["dimensions"]["Operation"]
        for q in alarms["w-table-system-errors"]["metricQueries"]
        if "metric" in q
    }
    assert operations == {"GetItem", "PutItem", "UpdateItem", "Query", "GetRecords"}
    assert all(a["alarmActions"] == [TOPIC] for a in alarms.values())


def test_overrides(declare):
    run = declare(
        lambda: Cqrs(
            "w",
            cqrs_args(
                deletion_protection=False,
                write_table={
                    "partition_key": {"name": "id", "type": "S"},
                    "global_indexes": [{"name": "by-status", "partition_key": {"name": "status", "type": "S"}}],
                },
                projections=[
                    {
                        "name": "summarise",
                        "handler_package": "sample",
                        "handler": "app.handler",
                        "batch_size": 500,
                        "batching_window_seconds": 10,
                        "max_retry_attempts": 10,
                        "max_record_age_seconds": 600,
                        "parallelization_factor": 4,
                        "bisect_on_error": False,
                        "filter_patterns": [{"eventName": ["INSERT", "MODIFY"]}],
                        "iterator_age_alarm_ms": 5000,
                    }
                ],
            ),
        )
    )
    assert {t["deletionProtectionEnabled"] for t in tables(run).values()} == {False}
    assert tables(run)["w-table"]["globalSecondaryIndexes"][0]["name"] == "by-status"
    mapping = run.named("w-summarise-mapping").inputs
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (500, 10)
    assert (mapping["maximumRetryAttempts"], mapping["maximumRecordAgeInSeconds"]) == (10, 600)
    assert (mapping["parallelizationFactor"], mapping["bisectBatchOnFunctionError"]) == (4, False)
    assert [json.loads(f["pattern"]) for f in mapping["filterCriteria"]["filters"]] == [
        {"eventName": ["INSERT", "MODIFY"]}
    ]
    assert run.named("w-summarise-iterator-age").inputs["threshold"] == 5000


def test_every_problem_is_reported_at_once(declare):
    bad = cqrs_args(
        write_table={
            "partition_key": {"name": "id", "type": "Z"},
            "global_indexes": [{"name": "g", "partition_key": {"name": "id", "type": "N"}}],
        },
        projections=[
            {"name": "no-handler"},
            {
                "name": "bad-ranges",
                "handler_package": "sample",
                "handler": "app.handler",
                "max_retry_attempts": -1,
                "max_record_age_seconds": -1,
                "parallelization_factor": 11,
                "batch_size": 0,
                "read_models": ["ghost"],
                "filter_patterns": [{}, {}, {}, {}, {}, {}],
            },
            {"name": "bad-ranges", "handler_package": "sample", "handler": "app.handler"},
        ],
        read_models=[{"name": "Summary", "partition_key": {"name": "k", "type": "S"}}],
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", bad))
    text = "\n".join(caught.value.problems)
    for fragment in [
        "write_table: partition_key.type must be one of S, N, B; got 'Z'",
        "write_table: global_indexes[0].partition_key: attribute 'id' is N here but Z in partition_key",
        "read_models[0] (Summary): name must be lower-case",
        "projections: duplicate name 'bad-ranges'",
        "projections[0] (no-handler): a projection needs handler_package and handler",
        "projections[1] (bad-ranges): max_retry_attempts must be between 0 and 10000, got -1",
        "projections[1] (bad-ranges): max_record_age_seconds must be between 60 and 72000, got -1",
        "projections[1] (bad-ranges): parallelization_factor must be between 1 and 10, got 11",
        "projections[1] (bad-ranges): batch_size must be between 1 and 10000, got 0",
        "projections[1] (bad-ranges): read_models: 'ghost' is not one of this component's read models",
        "projections[1] (bad-ranges): filter_patterns: at most 5, got 6",
        "projections[1] (bad-ranges): filter_patterns[0] must be a non-empty JSON object",
    ]:
        assert fragment in text, text


def test_at_least_one_projection(declare):
    with pytest.raises(ArgumentError, match="projections: at least one projection is required"):
        declare(lambda: Cqrs("w", cqrs_args(projections=[])))
