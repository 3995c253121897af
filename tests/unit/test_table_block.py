"""The table block under Pulumi mocks."""

from __future__ import annotations

from typing import Any

import pytest

from serverless_patterns import ArgumentError, Table, TableArgs

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def table_inputs(declare, args: TableArgs) -> dict[str, Any]:
    run = declare(lambda: Table("orders", args))
    [table] = run.of_type("aws:dynamodb/table:Table")
    return table.inputs


def test_defaults(declare):
    inputs = table_inputs(declare, {"alarm_topic_arn": TOPIC, "partition_key": {"name": "order_id", "type": "S"}})
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert inputs["hashKey"] == "order_id"
    assert "rangeKey" not in inputs
    assert inputs["attributes"] == [{"name": "order_id", "type": "S"}]
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert "serverSideEncryption" not in inputs, "AWS-owned key by default"
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["streamEnabled"] is False
    assert "ttl" not in inputs
    assert "globalSecondaryIndexes" not in inputs


def test_stream_gsi_ttl_key_and_sort_key(declare):
    inputs = table_inputs(
        declare,
        {
            "alarm_topic_arn": TOPIC,
            "partition_key": {"name": "order_id", "type": "S"},
            "sort_key": {"name": "version", "type": "N"},
            "global_indexes": [
                {
                    "name": "by-status",
                    "partition_key": {"name": "status", "type": "S"},
                    "sort_key": {"name": "created_at", "type": "S"},
                },
                {
                    "name": "by-customer",
                    "partition_key": {"name": "customer_id", "type": "S"},
                    "projection": "INCLUDE",
                    "non_key_attributes": ["total"],
                },
            ],
            "ttl_attribute": "expires_at",
            "stream_view_type": "NEW_AND_OLD_IMAGES",
            "deletion_protection": False,
            "kms_key_arn": KEY,
        },
    )
    assert inputs["rangeKey"] == "version"
    assert inputs["attributes"] == [
        {"name": "order_id", "type": "S"},
        {"name": "version", "type": "N"},
        {"name": "status", "type": "S"},
        {"name": "created_at", "type": "S"},
        {"name": "customer_id", "type": "S"},
    ]
    assert inputs["globalSecondaryIndexes"] == [
        {
            "name": "by-status",
            "projectionType": "ALL",
            "keySchemas": [
                {"attributeName": "status", "keyType": "HASH"},
                {"attributeName": "created_at", "keyType": "RANGE"},
            ],
        },
        {
            "name": "by-customer",
            "projectionType": "INCLUDE",
            "nonKeyAttributes": ["total"],
            "keySchemas": [{"attributeName": "customer_id", "keyType": "HASH"}],
        },
    ]
    assert inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert (inputs["streamEnabled"], inputs["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
    assert inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}
    assert inputs["deletionProtectionEnabled"] is False


def test_stream_arn_output_only_with_a_stream(declare):
    holder: dict[str, Table] = {}

    def build() -> None:
        holder["with"] = Table(
            "a",
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "stream_view_type": "KEYS_ONLY"},
        )
        holder["without"] = Table("b", {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}})

    declare(build)
    assert holder["with"].stream_arn is not None
    assert holder["without"].stream_arn is None


def test_every_problem_is_reported_at_once(declare):
    bad: Any = {
        "alarm_topic_arn": TOPIC,
        "partition_key": {"name": "id", "type": "X"},
        "global_indexes": [
            {"name": "dup", "partition_key": {"name": "id", "type": "N"}},
            {"name": "dup", "partition_key": {"name": "other", "type": "S"}, "projection": "INCLUDE"},
            {"name": "k", "partition_key": {"name": "", "type": "S"}, "non_key_attributes": ["a"]},
        ],
        "ttl_attribute": "id",
        "stream_view_type": "EVERYTHING",
    }
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Table("orders", bad))
    text = "\n".join(caught.value.problems)
    for fragment in [
        "partition_key.type must be one of S, N, B; got 'X'",
        "global_indexes[0].partition_key: attribute 'id' is N here but X in partition_key",
        "global_indexes[2].partition_key.name must be a non-empty string, got ''",
        "duplicate index name 'dup'",
        "global_indexes[1]: non_key_attributes are required with INCLUDE",
        "global_indexes[2]: non_key_attributes are required with INCLUDE and only with INCLUDE",
        "stream_view_type must be one of",
        "ttl_attribute 'id' may not be a key attribute",
    ]:
        assert fragment in text


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({"partition_key": {"name": "k", "type": "S"}}, "alarm_topic_arn is required"),
        ({"alarm_topic_arn": TOPIC}, "partition_key is required"),
        ({"alarm_topic_arn": TOPIC, "partition_key": {"name": "k"}}, "partition_key.type is required"),
        (
            {
                "alarm_topic_arn": TOPIC,
                "partition_key": {"name": "k", "type": "S"},
                "sort_keys": {"name": "s", "type": "S"},
            },
            "unknown argument 'sort_keys' (did you mean 'sort_key'?)",
        ),
        ({"alarm_topic_arn": TOPIC, "partition_key": "k"}, "partition_key must be a mapping of arguments, got 'k'"),
        (
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "deletion_protection": "no"},
            "deletion_protection must be true or false, got 'no'",
        ),
        (
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "global_indexes": {"name": "g"}},
            "global_indexes must be a list, got a mapping",
        ),
        (
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "kms_key_arn": "alias/tables"},
            "kms_key_arn must be an ARN (arn:<partition>:<service>:...), got 'alias/tables'",
        ),
        (
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "ttl_attribute": ""},
            "ttl_attribute must be a non-empty string, got ''",
        ),
        (
            {
                "alarm_topic_arn": TOPIC,
                "partition_key": {"name": "k", "type": "S"},
                "global_indexes": [{"name": "g", "partition_key": {"name": "k", "type": "S"}, "projecton": "ALL"}],
            },
            "unknown argument 'global_indexes[0].projecton' (did you mean 'projection'?)",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Table("orders", bad))
    assert caught.value.problems == [problem]


def test_more_than_twenty_indexes_are_refused():
    from serverless_patterns.blocks.table import table_problems

    indexes: Any = [{"name": f"g{i}", "partition_key": {"name": "k", "type": "S"}} for i in range(21)]
    assert table_problems(
        {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "global_indexes": indexes}
    ) == ["global_indexes: at most 20 per table, got 21"]


def test_settings_hold_every_default_in_one_place():
    from serverless_patterns.blocks.table import TableSettings
    from serverless_patterns.internals.settings import resolve

    settings = resolve(
        TableSettings, {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}}, "Table 'orders'"
    )
    assert (settings.sort_key, settings.global_indexes, settings.ttl_attribute) == (None, (), None)
    assert (settings.stream_view_type, settings.deletion_protection, settings.kms_key_arn) == (None, True, None)
    index = resolve(
        TableSettings,
        {
            "alarm_topic_arn": TOPIC,
            "partition_key": {"name": "k", "type": "S"},
            "global_indexes": [{"name": "g", "partition_key": {"name": "k", "type": "S"}}],
        },
        "t",
    ).global_indexes[0]
    assert (index.sort_key, index.projection, index.non_key_attributes) == (None, "ALL", ())


def alarms_of(run) -> dict[str, dict[str, Any]]:
    return {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_every_table_is_alarmed_on_throttles_and_system_errors_of_every_operation(declare):
    run = declare(lambda: Table("orders", {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}}))
    alarms = alarms_of(run)
    assert set(alarms) == {"orders-read-throttles", "orders-write-throttles", "orders-system-errors"}
    assert all(a["alarmActions"] == [TOPIC] for a in alarms.values())
    assert alarms["orders-read-throttles"]["metricName"] == "ReadThrottleEvents"
    assert alarms["orders-write-throttles"]["dimensions"] == {"TableName": "orders"}
    queries = alarms["orders-system-errors"]["metricQueries"]
    operations = [q["metric"]["dimensions"]["Operation"] for q in queries if "metric" in q]
    assert "TransactWriteItems" in operations and "GetRecords" in operations
    assert len(operations) <= 10, "CloudWatch takes at most 10 metrics in an alarm's expression"
    [expression] = [q for q in queries if "expression" in q]
    assert expression["expression"] == f"SUM([{','.join(q['id'] for q in queries if 'metric' in q)}])"


def test_the_system_errors_alarm_watches_the_operations_given(declare):
    run = declare(
        lambda: Table(
            "orders",
            {
                "alarm_topic_arn": TOPIC,
                "partition_key": {"name": "k", "type": "S"},
                "alarm_operations": ["GetItem", "TransactWriteItems"],
            },
        )
    )
    queries = alarms_of(run)["orders-system-errors"]["metricQueries"]
    assert [q["metric"]["dimensions"]["Operation"] for q in queries if "metric" in q] == [
        "GetItem",
        "TransactWriteItems",
    ]
    with pytest.raises(ArgumentError, match="alarm_operations must name 1 to 10 distinct DynamoDB operations"):
        declare(
            lambda: Table(
                "bad",
                {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "alarm_operations": []},
            )
        )


@pytest.mark.parametrize("protected", [True, False])
def test_deletion_protection_is_also_pulumis_protect(declare, protected: bool):
    run = declare(
        lambda: Table(
            "orders",
            {"alarm_topic_arn": TOPIC, "partition_key": {"name": "k", "type": "S"}, "deletion_protection": protected},
        )
    )
    [table] = run.of_type("aws:dynamodb/table:Table")
    assert table.inputs["deletionProtectionEnabled"] is protected
    assert table.protect is protected
