"""Pulumi mocks that answer like AWS would on create, without any AWS: computed identifiers only.

Used by ``python -m localcloud plan`` and by the unit tests. Mocks never auto-name, so a resource without an
explicit name is named after its logical name; ARNs, URLs and stream ARNs are built from the stack's region and
a fixed account id, in the region's partition (aws-cn for China, aws-us-gov for GovCloud).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

__all__ = ["ACCOUNT_ID", "OfflineMocks"]

ACCOUNT_ID = "123456789012"

# type token → (service, resource part of the ARN with {name}); the rest falls back to <service>:<kind>/<name>.
_ARN_FORMATS: dict[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("iam", "role/{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:sns/topic:Topic": ("sns", "{name}"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}"),
    "aws:kms/key:Key": ("kms", "key/{name}"),
    "aws:kms/alias:Alias": ("kms", "{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:sfn/stateMachine:StateMachine": ("states", "stateMachine:{name}"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "schedule/default/{name}"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": ("scheduler", "schedule-group/{name}"),
}
_GLOBAL_SERVICES = {"iam"}
_PARTITIONS = {"cn-": ("aws-cn", "amazonaws.com.cn"), "us-gov-": ("aws-us-gov", "amazonaws.com")}


class OfflineMocks(pulumi.runtime.Mocks):
    """Returns each resource's inputs plus the identifiers AWS would compute."""

    def __init__(self, region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.partition, self.dns_suffix = next(
            (found for prefix, found in _PARTITIONS.items() if region.startswith(prefix)), ("aws", "amazonaws.com")
        )

    def arn(self, service: str, resource: str) -> str:
        region = "" if service in _GLOBAL_SERVICES else self.region
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        if not args.custom:
            return f"{args.name}-id", state
        name = state.get("name") or args.name
        state["name"] = name
        if args.typ == "aws:sns/topic:Topic" and state.get("fifoTopic"):
            name = f"{name}.fifo"
        service, fmt = _ARN_FORMATS.get(args.typ, (args.typ.split(":")[1].split("/")[0], "{kind}/{name}"))
        kind = args.typ.rsplit(":", 1)[-1].lower()
        state["arn"] = self.arn(service, fmt.format(name=name, kind=kind))
        resource_id = name
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
            resource_id = state["url"]
        elif args.typ == "aws:sns/topic:Topic":
            resource_id = state["arn"]
        elif args.typ == "aws:kms/key:Key":
            state["keyId"] = name
        elif args.typ == "aws:dynamodb/table:Table" and state.get("streamEnabled"):
            state["streamArn"] = f"{state['arn']}/stream/2026-01-01T00:00:00.000"
        elif args.typ == "aws:lambda/function:Function":
            state["invokeArn"] = (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
            )
            state["qualifiedArn"] = f"{state['arn']}:$LATEST"
        elif args.typ == "aws:iam/role:Role":
            state["uniqueId"] = "AROA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._invoke(args), []  # no check failures

    def _invoke(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/local",
                "userId": "AIDALOCAL",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": self.region,
                "name": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": self.region,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": self.dns_suffix, "id": self.partition}
        return {}
