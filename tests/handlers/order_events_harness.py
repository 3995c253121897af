"""A moto deployment of the order-events fan-out, wired with the filter policies the stack declares.

Messages are published to SNS and delivered by moto into the subscribers' queues; ``poll`` plays Lambda's SQS
event source: receive a batch, invoke the handler, delete what it did not report as failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import run_program, stack_config
from localcloud.sources import sqs_lambda_record

REGION = "us-east-1"
SUBSCRIBERS = ("fulfilment", "invoicing", "notifications", "big-orders")


def declared_subscriptions() -> dict[str, dict[str, Any]]:
    """The dev stack's subscriptions (filter policy, scope, redrive) as the program declares them."""
    run = run_program(OfflineMocks(), "dev", stack_config("dev"))
    queues = {q.name: q.inputs for q in run.of_type("aws:sqs/queue:Queue")}
    declared = {}
    for name in SUBSCRIBERS:
        subscription = run.named(f"order-events-{name}-subscription").inputs
        declared[name] = {
            "FilterPolicy": subscription["filterPolicy"],
            "FilterPolicyScope": subscription["filterPolicyScope"],
            "RawMessageDelivery": "true",
            "maxReceiveCount": json.loads(queues[f"order-events-{name}"]["redrivePolicy"])["maxReceiveCount"],
        }
    return declared


@dataclass
class OrderEventsCloud:
    topic_arn: str
    queue_urls: dict[str, str]
    dlq_urls: dict[str, str]
    state_machine_arn: str
    sqs: Any = field(repr=False)
    sns: Any = field(repr=False)

    def publish(self, event: dict[str, Any]) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(event),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": str(event.get("event_type"))}},
        )

    def publish_raw(self, body: str, event_type: str) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=body,
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
        )

    def depth(self, subscriber: str, dlq: bool = False) -> int:
        url = (self.dlq_urls if dlq else self.queue_urls)[subscriber]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def poll(self, subscriber: str, handler: Any, context: Any) -> dict[str, Any]:
        """One event-source poll: a batch of up to 10 to ``handler``; successes deleted, failures left."""
        url = self.queue_urls[subscriber]
        messages = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        event = {"Records": [lambda_record(m, url) for m in messages]}
        response = handler(event, context) if messages else {"batchItemFailures": []}
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return {"received": len(messages), **response}


def lambda_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source hands it to the function."""
    return sqs_lambda_record(message, f"arn:aws:sqs:{REGION}:123456789012:{queue_url.rsplit('/', 1)[1]}", REGION)


def deploy_order_events(declared: dict[str, dict[str, Any]]) -> OrderEventsCloud:
    """Inside an active moto mock: topic, queues with DLQs, subscriptions, tables, a checkout state machine."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    topic_arn = sns.create_topic(Name="order-events")["TopicArn"]
    queue_urls, dlq_urls = {}, {}
    for name, spec in declared.items():
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec["maxReceiveCount"]})
        url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={k: spec[k] for k in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery")},
        )
        queue_urls[name], dlq_urls[name] = url, dlq_url
    for table, keys in {
        "invoices": [("order_id", "HASH")],
        "notifications": [("order_id", "HASH"), ("event_type", "RANGE")],
        "idempotency": [("id", "HASH")],
    }.items():
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    state_machine_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="checkout",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/checkout",
    )["stateMachineArn"]
    return OrderEventsCloud(topic_arn, queue_urls, dlq_urls, state_machine_arn, sqs, sns)
