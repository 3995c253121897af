"""Pulumi mocks that answer like AWS would on create, without any AWS: computed identifiers only.

Mocks never auto-name, so a resource without an explicit name is named after its logical name (assertions can
name what they expect); ARNs, URLs, stream ARNs and ids are built from the region (and its partition) of the
resource's provider — an explicit provider's ``region``, else the mocks' own — and a fixed account id, in the
formats AWS uses. Invokes answer for their provider's region the same way, including the public SSM parameters a
stack reads (the Powertools layer).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pulumi

from serverless_patterns.testing.public_aws import dns_suffix, partition_of, public_parameter

__all__ = ["ACCOUNT_ID", "OfflineMocks", "partition_of"]

ACCOUNT_ID = "123456789012"

# type token → (service, resource part of the ARN with {name}); the rest falls back to <service>:<kind>/<name>.
_ARN_FORMATS: dict[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("iam", "role/{name}"),
    "aws:iam/policy:Policy": ("iam", "policy/{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:sns/topic:Topic": ("sns", "{name}"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}"),
    "aws:kms/key:Key": ("kms", "key/{name}"),
    "aws:kms/alias:Alias": ("kms", "{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:sfn/stateMachine:StateMachine": ("states", "stateMachine:{name}"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": ("scheduler", "schedule-group/{name}"),
}
_GLOBAL_SERVICES = {"iam"}
_STREAM_LABEL = "2026-01-01T00:00:00.000"


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class OfflineMocks(pulumi.runtime.Mocks):
    """Returns each resource's inputs plus the identifiers AWS would compute, and answers the account, region
    and partition lookups (``aws.get_caller_identity`` and friends) for ``region`` and ``account_id``."""

    def __init__(self, region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.partition = partition_of(region)
        self._provider_regions: dict[str, str] = {}  # an explicit aws provider's id → its region

    def region_of(self, provider: str | None) -> str:
        """The region of the provider a registration or an invoke names (``<urn>::<id>``), else the mocks' own."""
        return self._provider_regions.get((provider or "").rsplit("::", 1)[-1], self.region)

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        region = region or self.region
        located = "" if service in _GLOBAL_SERVICES else region
        return f"arn:{partition_of(region)}:{service}:{located}:{self.account_id}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        if not args.custom:
            return f"{args.name}-id", state
        if args.typ.startswith("pulumi:providers:"):  # a provider has no ARN; an aws one may set the region
            if isinstance(state.get("region"), str):
                self._provider_regions[args.name] = state["region"]
            return args.name, state  # the id: what invokes and registrations name after the provider's URN
        region = self.region_of(args.provider)
        name = state.get("name") or args.name
        state["name"] = name
        if args.typ == "aws:sns/topic:Topic" and state.get("fifoTopic") and not str(name).endswith(".fifo"):
            name = f"{name}.fifo"
        service, fmt = _ARN_FORMATS.get(args.typ, (args.typ.split(":")[1].split("/")[0], "{kind}/{name}"))
        kind = args.typ.rsplit(":", 1)[-1].lower()
        state["arn"] = self.arn(service, fmt.format(name=name, kind=kind), region)
        return self._computed(args, name, state, region), state

    def _computed(self, args: pulumi.runtime.MockResourceArgs, name: str, state: dict[str, Any], region: str) -> str:
        """Fills in what AWS computes for ``args.typ``; returns the resource's id."""
        typ = args.typ
        if typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{region}.{dns_suffix(region)}/{self.account_id}/{name}"
            return str(state["url"])
        if typ == "aws:sns/topic:Topic":
            return str(state["arn"])
        if typ == "aws:sns/topicSubscription:TopicSubscription" and isinstance(state.get("topic"), str):
            state["arn"] = f"{state['topic']}:{_stable_uuid(state['topic'], args.name)}"
            return str(state["arn"])
        if typ == "aws:kms/key:Key":
            state["keyId"] = name
        elif typ == "aws:dynamodb/table:Table" and state.get("streamEnabled"):
            state["streamArn"] = f"{state['arn']}/stream/{_STREAM_LABEL}"
            state["streamLabel"] = _STREAM_LABEL
        elif typ == "aws:lambda/function:Function":
            state["invokeArn"] = (
                f"arn:{partition_of(region)}:apigateway:{region}:lambda:path/2015-03-31/functions/{state['arn']}"
                "/invocations"
            )
            state["qualifiedArn"] = f"{state['arn']}:$LATEST"
            state["version"] = "$LATEST"
        elif typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
            mapping_id = _stable_uuid(region, args.name)
            state["uuid"] = mapping_id
            state["arn"] = self.arn("lambda", f"event-source-mapping:{mapping_id}", region)
            function = state.get("functionName")
            if isinstance(function, str):
                state["functionArn"] = (
                    function if function.startswith("arn:") else self.arn("lambda", f"function:{function}", region)
                )
            return mapping_id
        elif typ == "aws:scheduler/schedule:Schedule":
            group = state.get("groupName") or "default"
            state["arn"] = self.arn("scheduler", f"schedule/{group}/{name}", region)
            state["groupName"] = group
        elif typ == "aws:iam/role:Role":
            state["uniqueId"] = "AROA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()
        return name

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return self._invoke(args), []  # no check failures

    def _invoke(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        region = self.region_of(args.provider)
        partition = partition_of(region)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:{partition}:iam::{self.account_id}:user/local",
                "userId": "AIDALOCAL",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": region,
                "name": region,
                "id": region,
                "endpoint": f"ec2.{region}.{dns_suffix(region)}",
                "description": region,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": partition, "dnsSuffix": dns_suffix(region), "id": partition}
        if args.token == "aws:ssm/getParameter:getParameter":
            return public_parameter(str(args.args.get("name")), region) or {}
        return {}
