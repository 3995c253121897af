"""Resource-policy statements shared by the queue, topic and key blocks."""

from __future__ import annotations

from typing import Any

import pulumi

__all__ = ["deny_insecure_transport", "resource_policy", "service_may"]


def deny_insecure_transport(actions: list[str], resource: pulumi.Input[str]) -> dict[str, Any]:
    """Deny every principal any of ``actions`` over plain HTTP (aws:SecureTransport false)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_may(
    sid: str,
    service: str,
    actions: list[str],
    resource: pulumi.Input[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Allow an AWS service principal ``actions`` on ``resource``, under ``condition`` (SourceArn/SourceAccount)
    when given; a statement without one is the exception, and says why where it is written."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": actions,
        "Resource": resource,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def resource_policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """The policy document JSON; statements may hold Outputs anywhere."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})
