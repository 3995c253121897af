"""The Cqrs component under Pulumi mocks."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, assert_args_match_settings, iam_findings, statements

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import run_declarations
from serverless_patterns import (
    ArgumentError,
    CommandHandler,
    CommandHandlerSettings,
    Cqrs,
    CqrsArgs,
    CqrsSettings,
    ExistingWriteTable,
    ExistingWriteTableSettings,
    Projection,
    ProjectionSettings,
    ReadModel,
    ReadModelSettings,
    WriteTable,
    WriteTableSettings,
    grant,
)
from serverless_patterns.internals.settings import resolve
from serverless_patterns.patterns.cqrs import READ_MODEL_ACTIONS

EVENTS_TOPIC = "arn:aws:sns:us-east-1:123456789012:events"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/w-table/stream/2026-01-01T00:00:00.000"
OWN_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/ledger"
OWN_STREAM = f"{OWN_TABLE}/stream/2025-06-01T00:00:00.000"
EXISTING: ExistingWriteTable = {"table_name": "ledger", "table_arn": OWN_TABLE, "stream_arn": OWN_STREAM}


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
    # the Table block's alarms: every data-plane operation, TransactWriteItems and the stream's GetRecords included
    assert {"GetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems", "GetRecords"} <= operations
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


def test_every_unreadable_or_out_of_range_field_is_reported_at_once(declare):
    bad = cqrs_args(
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
                "filter_patterns": [{}, {}, {}, {}, {}, {}],
            },
        ],
        read_models=[{"name": "Summary", "partition_key": {"name": "k", "type": "S"}}],
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", bad))
    assert caught.value.problems == [
        "projections[0].handler_package is required",
        "projections[0].handler is required",
        "projections[1].batch_size must be between 1 and 10000, got 0",
        "projections[1].max_retry_attempts must be between 0 and 10000, got -1",
        "projections[1].max_record_age_seconds must be between 60 and 72000, got -1",
        "projections[1].parallelization_factor must be between 1 and 10, got 11",
        "projections[1].filter_patterns must be at most 5 patterns, got 6",
        "read_models[0].name must be lower-case letters, digits and '-', starting with a letter, at most 48 "
        "characters; got 'Summary'",
    ]


def test_every_rule_across_fields_is_reported_at_once(declare):
    bad = cqrs_args(
        write_table={
            "partition_key": {"name": "id", "type": "Z"},
            "global_indexes": [{"name": "g", "partition_key": {"name": "id", "type": "N"}}],
        },
        command_handlers=[
            {"name": "place", "handler_package": "sample", "handler": "app.handler", "timeout_seconds": 0}
        ],
        projections=[
            {"name": "summarise", "handler_package": "sample", "handler": "app.handler", "read_models": ["ghost"]},
            {"name": "summarise", "handler_package": "sample", "handler": "app.handler", "filter_patterns": [{}]},
        ],
        read_models=[
            {"name": "summary", "partition_key": {"name": "k", "type": "S"}},
            {"name": "summary", "partition_key": {"name": "k", "type": "S"}},
            {"name": "table", "partition_key": {"name": "k", "type": "S"}},
        ],
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", bad))
    assert caught.value.problems == [
        "write_table: partition_key.type must be one of S, N, B; got 'Z'",
        "write_table: global_indexes[0].partition_key: attribute 'id' is N here but Z in partition_key",
        "read_models[2].name 'table' is the write table's: choose another",
        "projections: duplicate name 'summarise'",
        "read_models: duplicate name 'summary'",
        "command_handlers[0]: timeout_seconds must be between 1 and 900, got 0",
        "projections[0].read_models: 'ghost' is not one of this component's read models",
        "projections[1].filter_patterns[0] must be a non-empty JSON object",
    ]


def test_at_least_one_projection(declare):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", cqrs_args(projections=[])))
    assert caught.value.problems == ["projections must hold at least one projection"]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({k: v for k, v in cqrs_args().items() if k != "projections"}, "projections is required"),
        (
            cqrs_args(
                projections=[{"name": "p", "handler_package": "sample", "handler": "app.handler", "batch_sise": 1}]
            ),
            "unknown argument 'projections[0].batch_sise' (did you mean 'batch_size'?)",
        ),
        (cqrs_args(read_modles=[]), "unknown argument 'read_modles' (did you mean 'read_models'?)"),
        (
            cqrs_args(projections={"name": "p", "handler_package": "sample", "handler": "app.handler"}),
            "projections must be a list, got a mapping",
        ),
        (
            cqrs_args(write_table=[{"name": "id", "type": "S"}]),
            "write_table must be a mapping of arguments, got a list",
        ),
        (cqrs_args(deletion_protection="no"), "deletion_protection must be true or false, got 'no'"),
        (
            cqrs_args(alarm_topic_arn="alarms"),
            "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        ),
        (
            cqrs_args(write_table={"partition_key": {"name": "id", "type": "S"}, "kms_key_arn": "alias/mine"}),
            "write_table.kms_key_arn must be an ARN (arn:<partition>:<service>:...), got 'alias/mine'",
        ),
        (
            cqrs_args(write_table={"partition_key": {"name": "id"}}),
            "write_table.partition_key.type is required",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", bad))
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    settings = resolve(CqrsSettings, cqrs_args(), "Cqrs 'w'")
    projection = settings.projections[0]
    assert (projection.batch_size, projection.batching_window_seconds, projection.parallelization_factor) == (
        100,
        0,
        1,
    )
    assert (projection.max_retry_attempts, projection.max_record_age_seconds) == (10_000, 6 * 3600)
    assert (projection.bisect_on_error, projection.filter_patterns, projection.iterator_age_alarm_ms) == (
        True,
        (),
        60_000,
    )
    assert settings.deletion_protection is True and settings.existing_write_table is None
    assert projection.memory_mb is None and settings.log_level is None, "the Function block's defaults apply"


@pytest.mark.parametrize(
    ("args_type", "settings_type"),
    [
        (CqrsArgs, CqrsSettings),
        (WriteTable, WriteTableSettings),
        (ExistingWriteTable, ExistingWriteTableSettings),
        (ReadModel, ReadModelSettings),
        (CommandHandler, CommandHandlerSettings),
        (Projection, ProjectionSettings),
    ],
)
def test_each_args_type_has_the_keys_of_its_settings(args_type: type, settings_type: type):
    assert_args_match_settings(args_type, settings_type)


def without_write_table(**overrides: Any) -> CqrsArgs:
    args = cqrs_args(**overrides)
    del args["write_table"]
    return args


def test_an_existing_write_table_is_used_instead_of_creating_one(declare):
    def build() -> None:
        cqrs = Cqrs("w", without_write_table(existing_write_table=EXISTING))
        pulumi.export("tables", [cqrs.write_table_name, cqrs.write_table_arn, cqrs.stream_arn])

    run = declare(build)
    assert set(tables(run)) == {"w-summary"}, "only the read models are created"
    assert not run.of_type("serverless-patterns:index:Table") or all(
        t.name == "w-summary" for t in run.of_type("serverless-patterns:index:Table")
    )
    alarms = {a.name for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert not {a for a in alarms if a.startswith("w-table")}, "its owner alarms on it"
    assert {"w-summary-read-throttles", "w-summary-system-errors"} <= alarms
    place = policy_of(run, "w-place")
    assert {a: r for a, r in place.items() if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem": OWN_TABLE,
        "dynamodb:PutItem": OWN_TABLE,
        "dynamodb:UpdateItem": OWN_TABLE,
    }
    assert policy_of(run, "w-summarise-projection")["dynamodb:GetRecords"] == OWN_STREAM
    assert run.named("w-summarise-mapping").inputs["eventSourceArn"] == OWN_STREAM
    functions = {f.name: f.inputs["environment"]["variables"] for f in run.of_type("aws:lambda/function:Function")}
    assert functions["w-place"]["WRITE_TABLE"] == functions["w-publish-projection"]["WRITE_TABLE"] == "ledger"
    assert run.outputs["tables"] == ["ledger", OWN_TABLE, OWN_STREAM]
    assert iam_findings(run)[1] == []


def test_an_existing_write_table_may_be_given_as_outputs(declare):
    def build() -> None:
        outputs = {k: pulumi.Output.from_input(v) for k, v in EXISTING.items()}
        Cqrs("w", without_write_table(existing_write_table=outputs))

    run = declare(build)
    assert run.named("w-summarise-mapping").inputs["eventSourceArn"] == OWN_STREAM


@pytest.mark.parametrize(
    ("overrides", "problems"),
    [
        ({"existing_write_table": EXISTING}, ["give write_table or existing_write_table, not both"]),
        ({"write_table": None}, ["write_table (or existing_write_table) is required"]),
        (
            {"write_table": None, "existing_write_table": {**EXISTING, "stream_arn": f"{OWN_TABLE}x/stream/1"}},
            [f"existing_write_table.stream_arn {OWN_TABLE}x/stream/1 is not a stream of the table {OWN_TABLE}"],
        ),
        (
            {"write_table": None, "existing_write_table": {**EXISTING, "table_name": "orders"}},
            [f"existing_write_table.table_name 'orders' is not the name in its table_arn {OWN_TABLE}"],
        ),
    ],
)
def test_existing_write_table_rules(declare, overrides: dict[str, Any], problems: list[str]):
    args = cqrs_args(**overrides)
    if args.get("write_table", "") is None:
        del args["write_table"]
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", args))
    assert caught.value.problems == problems


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        ({"table_name": "ledger", "table_arn": OWN_TABLE}, "existing_write_table.stream_arn is required"),
        (
            {**EXISTING, "stream_arn": "ledger-stream"},
            "existing_write_table.stream_arn must be an ARN (arn:<partition>:<service>:...), got 'ledger-stream'",
        ),
        (
            {**EXISTING, "stream_arn": OWN_TABLE},
            f"existing_write_table.stream_arn must be a DynamoDB stream ARN (<table ARN>/stream/<label>), got "
            f"'{OWN_TABLE}'",
        ),
        (
            {**EXISTING, "table_arn": "arn:aws:sqs:us-east-1:123456789012:ledger"},
            "existing_write_table.table_arn must be a DynamoDB table ARN (arn:<partition>:dynamodb:<region>:"
            "<account>:table/<name>), got 'arn:aws:sqs:us-east-1:123456789012:ledger'",
        ),
    ],
)
def test_existing_write_table_identifiers_are_checked(declare, existing: dict[str, Any], problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", without_write_table(existing_write_table=existing)))
    assert caught.value.problems == [problem]


def test_every_arn_the_component_wires_is_in_the_providers_partition():
    run = run_declarations(OfflineMocks(region="cn-north-1"), lambda: Cqrs("w", cqrs_args()))
    mapping = run.named("w-summarise-mapping").inputs
    assert mapping["eventSourceArn"].startswith("arn:aws-cn:dynamodb:cn-north-1:")
    assert mapping["destinationConfig"]["onFailure"]["destinationArn"].startswith("arn:aws-cn:sqs:cn-north-1:")
    place = policy_of(run, "w-place")
    projection = policy_of(run, "w-summarise-projection")
    wired = [place["dynamodb:PutItem"], projection["dynamodb:GetRecords"], projection["dynamodb:PutItem"]]
    assert all(str(arn).startswith("arn:aws-cn:dynamodb:cn-north-1:") for arn in wired), wired


def test_a_command_handler_and_a_projection_may_narrow_their_table_actions(declare):
    run = declare(
        lambda: Cqrs(
            "w",
            cqrs_args(
                read_models=[
                    {"name": "summary", "partition_key": {"name": "customer_id", "type": "S"}},
                    {"name": "markers", "partition_key": {"name": "marker", "type": "S"}},
                    {"name": "audit", "partition_key": {"name": "id", "type": "S"}},
                ],
                command_handlers=[
                    {
                        "name": "place",
                        "handler_package": "sample",
                        "handler": "app.handler",
                        "write_actions": ["dynamodb:PutItem"],
                    }
                ],
                projections=[
                    {
                        "name": "summarise",
                        "handler_package": "sample",
                        "handler": "app.handler",
                        "read_models": ["summary", "markers", "audit"],
                        "read_model_actions": {
                            "summary": ["dynamodb:UpdateItem"],
                            "markers": ["dynamodb:PutItem"],
                        },
                    }
                ],
            ),
        )
    )
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/w-"
    place = [s for s in statements(run.named("w-place-policy")) if s["Action"][0].startswith("dynamodb:")]
    assert [(s["Action"], s["Resource"]) for s in place] == [(["dynamodb:PutItem"], table + "table")]
    summarise = {
        (tuple(s["Action"]), s["Resource"] if isinstance(s["Resource"], str) else tuple(s["Resource"]))
        for s in statements(run.named("w-summarise-projection-policy"))
        if any(a.endswith("Item") for a in s["Action"])
    }
    assert summarise == {
        (("dynamodb:UpdateItem",), table + "summary"),
        (("dynamodb:PutItem",), table + "markers"),
        (tuple(sorted(READ_MODEL_ACTIONS)), table + "audit"),  # not narrowed: all five
    }


def test_narrowed_actions_may_not_widen_or_name_other_tables(declare):
    handlers = [
        {"name": "place", "handler_package": "sample", "handler": "app.handler", "write_actions": []},
        {
            "name": "purge",
            "handler_package": "sample",
            "handler": "app.handler",
            "write_actions": ["dynamodb:DeleteItem"],
        },
    ]
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", cqrs_args(command_handlers=handlers)))
    assert caught.value.problems == [
        "command_handlers[0].write_actions must name at least one action",
        "command_handlers[1].write_actions may name only dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, "
        "not dynamodb:DeleteItem",
    ]
    projection = {
        "name": "summarise",
        "handler_package": "sample",
        "handler": "app.handler",
        "read_models": ["summary"],
        "read_model_actions": {"summary": ["dynamodb:Scan"], "other": ["dynamodb:PutItem"]},
    }
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Cqrs("w", cqrs_args(projections=[projection])))
    assert caught.value.problems == [
        "projections[0].read_model_actions['summary'] may name only dynamodb:ConditionCheckItem, dynamodb:DeleteItem, "
        "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, not dynamodb:Scan",
        "projections[0].read_model_actions: 'other' is not one of the projection's read_models",
    ]
