"""IAM roles that an AWS service assumes (Lambda, Step Functions, EventBridge Scheduler)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

__all__ = ["service_role"]


def service_role(
    resource_name: str,
    service: str,
    description: pulumi.Input[str],
    parent: pulumi.Resource,
    source_account: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """A role only ``service`` may assume; with ``source_account``, only on behalf of that account (the
    confused-deputy guard AWS recommends for Step Functions and Scheduler)."""

    def trust(account: str | None) -> str:
        statement: dict[str, object] = {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
        if account is not None:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    policy = pulumi.Output.from_input(source_account).apply(trust) if source_account is not None else trust(None)
    return aws.iam.Role(
        resource_name, assume_role_policy=policy, description=description, opts=pulumi.ResourceOptions(parent=parent)
    )
