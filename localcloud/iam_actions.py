"""What an AWS API call is authorised as: the IAM action(s) and the resource ARN(s) AWS evaluates for it.

The names follow AWS's Service Authorization Reference, not the operation names: a DynamoDB transaction is
authorised item by item (Put → ``dynamodb:PutItem``, ConditionCheck → ``dynamodb:ConditionCheckItem``), SNS
``PublishBatch`` is ``sns:Publish``, SQS's ``*Batch`` operations are their single-message actions, Lambda's
``Invoke`` is ``lambda:InvokeFunction``, while DynamoDB's ``BatchWriteItem`` and ``BatchGetItem`` are actions of
their own. A Query or Scan naming an index is authorised on the index's ARN. Operations not listed here return
None: the local cloud does not guess how AWS authorises them (the caller lets them through and lists them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from localcloud.public_aws import partition_of

__all__ = ["Check", "checks_of"]

Check = tuple[str, str]  # (IAM action, resource ARN)

_TRANSACT_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_SQS_SINGLE = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}  # AWS answers it whatever the policies say


class _Arns:
    def __init__(self, region: str, account: str) -> None:
        self.region, self.account, self.partition = region, account, partition_of(region)

    def of(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def table(self, name: str) -> str:
        return name if name.startswith("arn:") else self.of("dynamodb", f"table/{name}")

    def queue(self, url: str) -> str:
        if url.startswith("arn:"):
            return url
        account, _, name = urlparse(url).path.strip("/").partition("/")
        return f"arn:{self.partition}:sqs:{self.region}:{account}:{name}"

    def function(self, name: str, qualifier: str | None) -> str:
        if name.startswith("arn:"):
            arn = name
        elif ":function:" in name:  # account:function:name
            arn = f"arn:{self.partition}:lambda:{self.region}:{name}"
        else:
            arn = self.of("lambda", f"function:{name}")
        return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


def _dynamodb(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        checks = []
        for entry in params.get("TransactItems", []):
            kind, item = next(iter(entry.items()))
            checks.append((f"dynamodb:{_TRANSACT_ITEMS[kind]}", arns.table(item["TableName"])))
        return checks
    if operation in {"BatchWriteItem", "BatchGetItem"}:
        return [(f"dynamodb:{operation}", arns.table(table)) for table in params.get("RequestItems", {})]
    if "TableName" not in params:
        return [(f"dynamodb:{operation}", "*")] if operation in {"ListTables", "DescribeLimits"} else None
    table = arns.table(params["TableName"])
    if operation in {"Query", "Scan"} and params.get("IndexName"):
        table = f"{table}/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", table)]


def _dynamodb_streams(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    if operation == "ListStreams":
        return [("dynamodb:ListStreams", "*")]
    return [(f"dynamodb:{operation}", str(params["StreamArn"]))] if "StreamArn" in params else None


def _sns(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    action = "sns:Publish" if operation == "PublishBatch" else f"sns:{operation}"
    topic = params.get("TopicArn") or params.get("TargetArn")
    return [(action, str(topic))] if topic else None


def _sqs(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    action = f"sqs:{_SQS_SINGLE.get(operation, operation)}"
    if "QueueUrl" in params:
        return [(action, arns.queue(str(params["QueueUrl"])))]
    if operation == "GetQueueUrl":
        account = params.get("QueueOwnerAWSAccountId") or arns.account
        return [(action, f"arn:{arns.partition}:sqs:{arns.region}:{account}:{params['QueueName']}")]
    return [(action, "*")] if operation == "ListQueues" else None


def _states(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    resource = params.get("stateMachineArn") or params.get("executionArn")
    return [(f"states:{operation}", str(resource))] if resource else None


def _lambda(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    if operation not in {"Invoke", "InvokeAsync", "InvokeWithResponseStream"} or "FunctionName" not in params:
        return None
    return [("lambda:InvokeFunction", arns.function(str(params["FunctionName"]), params.get("Qualifier")))]


def _events(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    if operation != "PutEvents":
        return None
    buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])}
    return [
        ("events:PutEvents", bus if bus.startswith("arn:") else arns.of("events", f"event-bus/{bus}"))
        for bus in sorted(buses)
    ]


def _cloudwatch(arns: _Arns, operation: str, params: dict[str, Any]) -> list[Check] | None:
    return [("cloudwatch:PutMetricData", "*")] if operation == "PutMetricData" else None


_SERVICES: dict[str, Callable[[_Arns, str, dict[str, Any]], list[Check] | None]] = {
    "dynamodb": _dynamodb,
    "dynamodbstreams": _dynamodb_streams,
    "sns": _sns,
    "sqs": _sqs,
    "stepfunctions": _states,
    "lambda": _lambda,
    "events": _events,
    "cloudwatch": _cloudwatch,
}


def checks_of(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[Check] | None:
    """The (action, resource ARN) pairs AWS authorises ``operation`` of ``service`` (botocore's names) with; an
    empty list when AWS authorises nothing, None when the local cloud does not know."""
    if (service, operation) in _ALWAYS_ALLOWED:
        return []
    mapping = _SERVICES.get(service)
    return mapping(_Arns(region, account), operation, params) if mapping else None
