"""DynamoDB transactions in the local cloud: all or nothing, items and stream records alike, however big the
tables (moto's rollback copies whole tables; the local cloud snapshots only the items a transaction touches)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.engine import transactions_snapshot_their_items

REGION = "us-east-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), transactions_snapshot_their_items():
        client = boto3.client("dynamodb", region_name=REGION)
        for name, keys in {"plain": ["pk"], "ranged": ["pk", "sk"]}.items():
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ["HASH", "RANGE"], strict=False)],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        yield client


def stream(client: Any, table: str) -> list[tuple[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [(r["eventName"], r["dynamodb"].get("NewImage", {}).get("n")) for r in records]


def items(client: Any, table: str) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=table)["Items"], key=str)


def update(table: str, key: dict[str, Any], value: str, condition: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "SET n = :n",
        "ExpressionAttributeValues": {":n": {"S": value}},
    }
    if condition:
        op["ConditionExpression"] = condition
    return {"Update": op}


def test_a_cancelled_transaction_leaves_no_item_and_no_stream_record(dynamodb):
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "a"}, "n": {"S": "1"}})
    dynamodb.put_item(TableName="ranged", Item={"pk": {"S": "r"}, "sk": {"S": "1"}, "n": {"S": "1"}})
    before = {t: (items(dynamodb, t), stream(dynamodb, t)) for t in ("plain", "ranged")}
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                update("plain", {"pk": {"S": "a"}}, "2"),  # applied first by moto, then rolled back
                update("ranged", {"pk": {"S": "r"}, "sk": {"S": "1"}}, "2"),
                {"Put": {"TableName": "plain", "Item": {"pk": {"S": "new"}, "n": {"S": "x"}}}},
                update("plain", {"pk": {"S": "b"}}, "3", condition="attribute_exists(pk)"),  # fails
            ]
        )
    codes = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert codes == ["None", "None", "None", "ConditionalCheckFailed"]
    assert {t: (items(dynamodb, t), stream(dynamodb, t)) for t in ("plain", "ranged")} == before


def test_a_committed_transaction_writes_every_item_and_its_stream_records(dynamodb):
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "a"}, "n": {"S": "1"}})
    dynamodb.transact_write_items(
        TransactItems=[
            update("plain", {"pk": {"S": "a"}}, "2"),
            {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "r"}, "sk": {"S": "2"}, "n": {"S": "9"}}}},
        ]
    )
    assert [i["n"]["S"] for i in items(dynamodb, "plain")] == ["2"]
    assert stream(dynamodb, "plain") == [("INSERT", {"S": "1"}), ("MODIFY", {"S": "2"})]
    assert stream(dynamodb, "ranged") == [("INSERT", {"S": "9"})]


def test_a_rolled_back_item_keeps_its_original_value_through_repeated_rollbacks(dynamodb):
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "a"}, "n": {"S": "1"}})
    for _ in range(3):
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    update("plain", {"pk": {"S": "a"}}, "changed"),
                    update("plain", {"pk": {"S": "z"}}, "3", condition="attribute_exists(pk)"),
                ]
            )
    assert [i["n"]["S"] for i in items(dynamodb, "plain")] == ["1"]
    one = {":one": {"S": "1"}}
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    **update("plain", {"pk": {"S": "a"}}, "2")["Update"],
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":n": {"S": "2"}, **one},
                }
            }
        ]
    )
    assert [i["n"]["S"] for i in items(dynamodb, "plain")] == ["2"]
