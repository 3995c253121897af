"""Deploy the Pulumi program into moto: a Mocks implementation that creates each resource with boto3.

Pulumi evaluates the real program and orders registrations by their dependencies; every resource is created in
moto and the real identifiers (ARNs, URLs, stream ARNs, names) flow back into the program as outputs. Event source
mappings, async invoke configs and schedules are not given to moto (its own mappings fire on send and clear
stream records; it never fires schedules): they are recorded in the :class:`Deployment`, whose emulators run
them. Alarms are created in moto's CloudWatch and recorded too: the local cloud evaluates them (moto does not)
and sets their state in moto. Functions are created with what moto accepts (no public layers: the local runtime
has Powertools installed), then reported as declared (:mod:`localcloud.declared_config`). Any resource type the
stack does not use fails with its name.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pulumi

from localcloud.cloudwatch_sync import alarm_request
from localcloud.declared_config import declare
from localcloud.lambda_runtime import LocalFunction
from localcloud.public_aws import dns_suffix, partition_of, public_parameter

__all__ = [
    "AsyncConfig",
    "Deployment",
    "MappingRecord",
    "MotoDeployer",
    "RoleRecord",
    "ScheduleRecord",
    "UnsupportedResource",
]


class UnsupportedResource(Exception):
    """The program declares a resource type the local cloud cannot create."""


@dataclass
class AsyncConfig:
    max_retry_attempts: int = 2
    max_event_age_seconds: int = 21600
    on_failure_arn: str | None = None


@dataclass
class MappingRecord:
    """An event source mapping, run by the local cloud's own pollers."""

    uuid: str
    source_arn: str
    function_name: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    bisect_on_error: bool = False
    max_retry_attempts: int = -1
    max_record_age_seconds: int = -1
    on_failure_arn: str | None = None
    filter_patterns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "sqs" if ":sqs:" in self.source_arn else "dynamodb-stream"


@dataclass
class ScheduleRecord:
    name: str
    group: str
    expression: str
    timezone: str
    target_arn: str
    input: str
    dead_letter_arn: str | None
    start_date: str | None = None
    end_date: str | None = None


@dataclass
class RoleRecord:
    """An IAM role as the program declared it: what the local cloud evaluates its functions' calls against."""

    name: str
    arn: str
    policies: dict[str, str] = field(default_factory=dict)  # inline policy name → JSON document
    managed_policy_arns: list[str] = field(default_factory=list)


@dataclass
class Deployment:
    """What was deployed into moto, as the emulators need it."""

    region: str
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    function_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # as the program declared them
    async_configs: dict[str, AsyncConfig] = field(default_factory=dict)
    reserved_concurrency: dict[str, int] = field(default_factory=dict)
    mappings: list[MappingRecord] = field(default_factory=list)
    schedules: list[ScheduleRecord] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    archives: dict[str, str] = field(default_factory=dict)  # function name → the path of the archive deployed
    log_groups: dict[str, str] = field(default_factory=dict)  # function name → the log group its logging config names
    ttl_attributes: dict[str, str] = field(default_factory=dict)  # table name → TTL attribute
    queue_urls: dict[str, str] = field(default_factory=dict)  # queue ARN → URL
    state_machines: dict[str, str] = field(default_factory=dict)  # name → ARN
    resource_types: dict[str, int] = field(default_factory=dict)
    roles: dict[str, RoleRecord] = field(default_factory=dict)  # role name → its declared policies

    def role_of(self, function: str) -> RoleRecord | None:
        """The execution role ``function`` was declared with (None for a function the program did not declare)."""
        role_arn = str((self.function_inputs.get(function) or {}).get("role", ""))
        return self.roles.get(role_arn.rsplit("/", 1)[-1]) if role_arn else None

    def function_by_arn(self, arn: str) -> LocalFunction:
        name = arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        return self.functions[name]


def _name(args: pulumi.runtime.MockResourceArgs) -> str:
    return str(args.inputs.get("name") or args.name)


class MotoDeployer(pulumi.runtime.Mocks):
    """Creates every registered resource in moto (which must be active) and records it in ``deployment``."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._lock = threading.Lock()  # Pulumi registers from a thread pool; moto calls are made one at a time
        self._clients: dict[str, Any] = {}
        self._account: str | None = None
        self._handlers: dict[str, Callable[[pulumi.runtime.MockResourceArgs], tuple[str, dict[str, Any]]]] = {
            "pulumi:providers:aws": lambda args: ("provider", {}),
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": self._kms_alias,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicPolicy:TopicPolicy": self._topic_policy,
            "aws:sns/topicSubscription:TopicSubscription": self._subscription,
            "aws:sqs/queue:Queue": self._queue,
            "aws:sqs/queuePolicy:QueuePolicy": self._queue_policy,
            "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": self._redrive_allow,
            "aws:dynamodb/table:Table": self._table,
            "aws:dynamodb/tableItem:TableItem": self._table_item,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._alarm,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": self._invoke_config,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._mapping,
            "aws:sfn/stateMachine:StateMachine": self._state_machine,
            "aws:scheduler/scheduleGroup:ScheduleGroup": self._schedule_group,
            "aws:scheduler/schedule:Schedule": self._schedule,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.deployment.region)
        return self._clients[service]

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return f"{args.name}-component", {}
        handler = self._handlers.get(args.typ)
        if handler is None:
            raise UnsupportedResource(f"the local cloud cannot create {args.typ} (resource {args.name!r})")
        with self._lock:
            resource_id, computed = handler(args)
            self.deployment.resource_types[args.typ] = self.deployment.resource_types.get(args.typ, 0) + 1
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        region = self.deployment.region
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.client("sts").get_caller_identity()
            account = identity["Account"]
            return {"accountId": account, "arn": identity["Arn"], "userId": identity["UserId"], "id": account}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": region, "name": region, "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            partition = partition_of(region)
            return {"partition": partition, "dnsSuffix": dns_suffix(region), "id": partition}, []
        if args.token == "aws:ssm/getParameter:getParameter":  # the public parameters only (the Powertools layer)
            name = str(args.args.get("name"))
            parameter = public_parameter(name, region)
            if parameter is None:
                raise UnsupportedResource(f"the local cloud has no SSM parameter {name}")
            return parameter, []
        raise UnsupportedResource(f"the local cloud cannot answer the invoke {args.token}")

    # --- resources -------------------------------------------------------------------------------------------

    def _kms_key(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        kms = self.client("kms")
        key = kms.create_key(
            Description=inputs.get("description", ""), **({"Policy": inputs["policy"]} if "policy" in inputs else {})
        )["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}

    def _kms_alias(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.client("kms").create_alias(AliasName=_name(args), TargetKeyId=args.inputs["targetKeyId"])
        return _name(args), {"name": _name(args)}

    def _topic(self, args: Any) -> tuple[str, dict[str, Any]]:
        attributes = {"KmsMasterKeyId": args.inputs["kmsMasterKeyId"]} if "kmsMasterKeyId" in args.inputs else {}
        arn = self.client("sns").create_topic(Name=_name(args), Attributes=attributes)["TopicArn"]
        return arn, {"arn": arn, "name": _name(args)}

    def _topic_policy(self, args: Any) -> tuple[str, dict[str, Any]]:
        topic = args.inputs["arn"]
        self.client("sns").set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=args.inputs["policy"]
        )
        return topic, {}

    def _subscription(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        attributes = {"RawMessageDelivery": "true" if inputs.get("rawMessageDelivery") else "false"}
        for source, target in (
            ("filterPolicy", "FilterPolicy"),
            ("filterPolicyScope", "FilterPolicyScope"),
            ("redrivePolicy", "RedrivePolicy"),
        ):
            if source in inputs:
                attributes[target] = inputs[source]
        if inputs["protocol"] not in {"sqs", "lambda"}:
            attributes.pop("RawMessageDelivery")
        arn = self.client("sns").subscribe(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"arn": arn}

    def _queue(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        attributes: dict[str, str] = {"ReceiveMessageWaitTimeSeconds": "0"}  # pollers never block locally
        for source, target in (
            ("visibilityTimeoutSeconds", "VisibilityTimeout"),
            ("messageRetentionSeconds", "MessageRetentionPeriod"),
            ("redrivePolicy", "RedrivePolicy"),
            ("kmsMasterKeyId", "KmsMasterKeyId"),
        ):
            if source in inputs:
                value = inputs[source]
                attributes[target] = str(int(value)) if isinstance(value, float) else str(value)
        if inputs.get("sqsManagedSseEnabled"):
            attributes["SqsManagedSseEnabled"] = "true"
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=_name(args), Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.deployment.queue_urls[arn] = url
        return url, {"url": url, "arn": arn, "name": _name(args)}

    def _queue_policy(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.client("sqs").set_queue_attributes(
            QueueUrl=args.inputs["queueUrl"], Attributes={"Policy": args.inputs["policy"]}
        )
        return args.inputs["queueUrl"], {}

    def _redrive_allow(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.client("sqs").set_queue_attributes(
            QueueUrl=args.inputs["queueUrl"], Attributes={"RedriveAllowPolicy": args.inputs["redriveAllowPolicy"]}
        )
        return args.inputs["queueUrl"], {}

    def _table(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs, name = args.inputs, _name(args)
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if inputs.get("globalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index["name"],
                    "KeySchema": [
                        {"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in index["keySchemas"]
                    ],
                    "Projection": {
                        "ProjectionType": index["projectionType"],
                        **({"NonKeyAttributes": index["nonKeyAttributes"]} if index.get("nonKeyAttributes") else {}),
                    },
                }
                for index in inputs["globalSecondaryIndexes"]
            ]
        if inputs.get("streamEnabled"):
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}
        encryption = inputs.get("serverSideEncryption") or {}
        if encryption.get("enabled") and encryption.get("kmsKeyArn"):
            request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": encryption["kmsKeyArn"]}
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        if inputs.get("ttl"):
            attribute = inputs["ttl"]["attributeName"]
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
            self.deployment.ttl_attributes[name] = attribute
        computed = {"arn": table["TableArn"], "name": name}
        if "LatestStreamArn" in table:
            computed["streamArn"] = table["LatestStreamArn"]
        return name, computed

    def _table_item(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.client("dynamodb").put_item(TableName=args.inputs["tableName"], Item=json.loads(args.inputs["item"]))
        return f"{args.inputs['tableName']}|{args.name}", {}

    def _role(self, args: Any) -> tuple[str, dict[str, Any]]:
        role = self.client("iam").create_role(
            RoleName=_name(args),
            AssumeRolePolicyDocument=args.inputs["assumeRolePolicy"],
            Description=args.inputs.get("description", ""),
        )["Role"]
        inline = {str(p["name"]): str(p["policy"]) for p in args.inputs.get("inlinePolicies") or [] if p.get("policy")}
        managed = [str(arn) for arn in args.inputs.get("managedPolicyArns") or []]
        self.deployment.roles[role["RoleName"]] = RoleRecord(role["RoleName"], role["Arn"], inline, managed)
        return role["RoleName"], {"arn": role["Arn"], "name": role["RoleName"], "uniqueId": role["RoleId"]}

    def _role_policy(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.client("iam").put_role_policy(
            RoleName=args.inputs["role"], PolicyName=args.name, PolicyDocument=args.inputs["policy"]
        )
        self.deployment.roles[args.inputs["role"]].policies[args.name] = args.inputs["policy"]
        return f"{args.inputs['role']}:{args.name}", {}

    def _log_group(self, args: Any) -> tuple[str, dict[str, Any]]:
        logs = self.client("logs")
        key = args.inputs.get("kmsKeyId")
        logs.create_log_group(logGroupName=_name(args), **({"kmsKeyId": key} if key else {}))
        if "retentionInDays" in args.inputs:
            logs.put_retention_policy(logGroupName=_name(args), retentionInDays=int(args.inputs["retentionInDays"]))
        region = self.deployment.region
        return _name(args), {"arn": f"arn:{partition_of(region)}:logs:{region}:{self.account}:log-group:{_name(args)}"}

    def _alarm(self, args: Any) -> tuple[str, dict[str, Any]]:
        alarm = {"name": args.name, **args.inputs}
        self.client("cloudwatch").put_metric_alarm(**alarm_request(alarm))
        self.deployment.alarms.append(alarm)
        return args.name, {"arn": f"arn:aws:cloudwatch:{self.deployment.region}:{self.account}:alarm:{args.name}"}

    def _function(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs, name = args.inputs, _name(args)
        archive = Path(inputs["code"].path).read_bytes()
        self.deployment.archives[name] = str(inputs["code"].path)
        variables = {k: str(v) for k, v in (inputs.get("environment") or {}).get("variables", {}).items()}
        created = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",  # moto's list of runtimes; the handler runs in this process either way
            Role=inputs["role"],
            Handler=inputs["handler"],
            Code={"ZipFile": archive},
            Environment={"Variables": variables},
            Timeout=int(inputs.get("timeout", 3)),
            MemorySize=int(inputs.get("memorySize", 128)),
        )
        declare(self.account, self.deployment.region, name, inputs)  # moto reports what the program declared
        self.deployment.function_inputs[name] = dict(inputs)
        log_group = (inputs.get("loggingConfig") or {}).get("logGroup")
        if log_group:
            self.deployment.log_groups[name] = str(log_group)
        reserved = int(inputs.get("reservedConcurrentExecutions", -1))
        if reserved >= 0:
            self.deployment.reserved_concurrency[name] = reserved
        self.deployment.functions[name] = LocalFunction.from_archive(
            name,
            created["FunctionArn"],
            inputs["handler"],
            archive,
            environment=variables,
            timeout_seconds=int(inputs.get("timeout", 3)),
            memory_mb=int(inputs.get("memorySize", 128)),
        )
        arn, region = created["FunctionArn"], self.deployment.region
        return name, {
            "arn": arn,
            "name": name,
            "qualifiedArn": f"{arn}:$LATEST",
            "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        }

    def _invoke_config(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        destination = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
        self.deployment.async_configs[inputs["functionName"]] = AsyncConfig(
            int(inputs.get("maximumRetryAttempts", 2)), int(inputs.get("maximumEventAgeInSeconds", 21600)), destination
        )
        return inputs["functionName"], {}

    def _mapping(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        destination = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
        patterns = [json.loads(f["pattern"]) for f in (inputs.get("filterCriteria") or {}).get("filters", [])]
        record = MappingRecord(
            uuid=str(uuid.uuid4()),
            source_arn=inputs["eventSourceArn"],
            function_name=inputs["functionName"].split(":function:")[-1],
            batch_size=int(inputs.get("batchSize", 10)),
            batching_window_seconds=int(inputs.get("maximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (inputs.get("functionResponseTypes") or []),
            bisect_on_error=bool(inputs.get("bisectBatchOnFunctionError", False)),
            max_retry_attempts=int(inputs.get("maximumRetryAttempts", -1)),
            max_record_age_seconds=int(inputs.get("maximumRecordAgeInSeconds", -1)),
            on_failure_arn=destination,
            filter_patterns=patterns,
        )
        self.deployment.mappings.append(record)
        return record.uuid, {"uuid": record.uuid, "functionArn": inputs["functionName"]}

    def _state_machine(self, args: Any) -> tuple[str, dict[str, Any]]:
        arn = self.client("stepfunctions").create_state_machine(
            name=_name(args),
            definition=args.inputs["definition"],
            roleArn=args.inputs["roleArn"],
            type=args.inputs.get("type", "STANDARD"),
        )["stateMachineArn"]
        self.deployment.state_machines[_name(args)] = arn
        return arn, {"arn": arn, "name": _name(args)}

    def _schedule_group(self, args: Any) -> tuple[str, dict[str, Any]]:
        arn = self.client("scheduler").create_schedule_group(Name=_name(args))["ScheduleGroupArn"]
        return _name(args), {"arn": arn, "name": _name(args)}

    def _schedule(self, args: Any) -> tuple[str, dict[str, Any]]:
        inputs, name = args.inputs, _name(args)
        target = inputs["target"]
        window = inputs.get("flexibleTimeWindow") or {"mode": "OFF"}
        request_target: dict[str, Any] = {
            "Arn": target["arn"],
            "RoleArn": target["roleArn"],
            "Input": target.get("input", "{}"),
        }
        dead_letter = (target.get("deadLetterConfig") or {}).get("arn")
        if dead_letter:
            request_target["DeadLetterConfig"] = {"Arn": dead_letter}
        group = inputs.get("groupName", "default")
        arn = self.client("scheduler").create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression=inputs["scheduleExpression"],
            ScheduleExpressionTimezone=inputs.get("scheduleExpressionTimezone", "UTC"),
            FlexibleTimeWindow={
                "Mode": window["mode"],
                **(
                    {"MaximumWindowInMinutes": int(window["maximumWindowInMinutes"])}
                    if "maximumWindowInMinutes" in window
                    else {}
                ),
            },
            Target=request_target,
        )["ScheduleArn"]
        self.deployment.schedules.append(
            ScheduleRecord(
                name,
                group,
                inputs["scheduleExpression"],
                inputs.get("scheduleExpressionTimezone", "UTC"),
                target["arn"],
                target.get("input", "{}"),
                dead_letter,
                inputs.get("startDate"),
                inputs.get("endDate"),
            )
        )
        return name, {"arn": arn, "name": name}
