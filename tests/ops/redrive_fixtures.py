"""Builders for the operations tests: queues, a streamed table and in-process functions on moto."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"

#: The test function: ok succeeds, raise raises, partial reports the batch's first record as failed, park parks
#: the batch in FAILURE_QUEUE_URL again and succeeds.
PROBE = """
import json
import os

def handler(event, context):
    behaviour = os.environ["BEHAVIOUR"]
    if behaviour == "raise":
        raise RuntimeError("projection failed")
    if behaviour == "park":  # a handler parking the records it cannot handle, as the projections do
        import boto3

        parked = {"version": "1.0", "condition": "MalformedRecord", "functionArn": context.invoked_function_arn,
                  "errorMessage": "still malformed", "timestamp": "2026-11-25T10:00:00Z", "records": event["Records"]}
        boto3.client("sqs").send_message(QueueUrl=os.environ["FAILURE_QUEUE_URL"], MessageBody=json.dumps(parked))
        return None
    if behaviour == "partial":
        first = event["Records"][0]["dynamodb"]["SequenceNumber"]
        return {"batchItemFailures": [{"itemIdentifier": first}]}
    return {"batchItemFailures": []}
"""


@dataclass
class Aws:
    """Clients on moto, the events each in-process function received, and builders for the fixtures."""

    sqs: Any = field(default_factory=lambda: boto3.client("sqs", region_name=REGION))
    dynamodb: Any = field(default_factory=lambda: boto3.client("dynamodb", region_name=REGION))
    streams: Any = field(default_factory=lambda: boto3.client("dynamodbstreams", region_name=REGION))
    lambda_: Any = field(default_factory=lambda: boto3.client("lambda", region_name=REGION))
    received: list[tuple[str, Any]] = field(default_factory=list)

    def queue(self, name: str, **attributes: str) -> str:
        return self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def source(self, name: str, dlq_url: str, **attributes: str) -> str:
        policy = json.dumps({"deadLetterTargetArn": self.arn(dlq_url), "maxReceiveCount": 1})
        return self.queue(name, RedrivePolicy=policy, **attributes)

    def bodies(self, url: str) -> list[str]:
        """Every message now visible in the queue (received and left to their visibility timeout)."""
        found: list[str] = []
        while batch := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
            "Messages"
        ):
            found.extend(m["Body"] for m in batch)
        return found

    def function(self, name: str, behaviour: str = "ok", **environment: str) -> str:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("probe/__init__.py", "")
            zipped.writestr("probe/app.py", PROBE)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        return self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="probe.app.handler",
            Code={"ZipFile": archive.getvalue()},
            Environment={"Variables": {"BEHAVIOUR": behaviour, **environment}},
        )["FunctionArn"]

    def table(self, name: str = "orders") -> str:
        """A table with a NEW_AND_OLD_IMAGES stream; returns the stream's ARN."""
        return self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]

    def stream_records(self, stream_arn: str) -> tuple[str, list[dict[str, Any]]]:
        """The stream's only shard and every record in it, as get_records returns them."""
        shard = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = self.streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return shard, self.streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
