"""A moto deployment of the orders write model and read models, and a reader of its DynamoDB stream."""

from __future__ import annotations

from typing import Any

import boto3

REGION = "us-east-1"


def create_table(name: str, key: str, stream: bool = False) -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}
    )
    response = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return response["TableDescription"].get("LatestStreamArn", "")


def stream_records(stream_arn: str) -> list[dict[str, Any]]:
    """Every record on the stream, oldest first, shaped as Lambda's DynamoDB event source delivers them."""
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            records.extend({**r, "eventSourceARN": stream_arn} for r in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    for record in records:  # boto3 returns datetimes where Lambda's JSON has epoch seconds
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, int | float):
            record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
    return records


def set_status(order_id: str, status: str, reason: str | None = None) -> None:
    """What the saga and expiry job do: a conditional PENDING → final write with version and updated_at."""
    table = boto3.resource("dynamodb", region_name=REGION).Table("orders")
    expression = "SET #s = :s, updated_at = :now, version = version + :one"
    values: dict[str, Any] = {":s": status, ":now": "2026-11-25T10:05:00.000Z", ":one": 1, ":pending": "PENDING"}
    if reason is not None:
        expression += ", reason = :r"
        values[":r"] = reason
    table.update_item(
        Key={"order_id": order_id},
        UpdateExpression=expression,
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=values,
    )
