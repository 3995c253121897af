"""The Lambda runtimes, the Powertools layer that matches the pinned aws-lambda-powertools release, and the
provider's region, partition and account.

The layer is not hard-coded: AWS publishes each release's layer ARN per region, runtime and architecture as the
public SSM parameter ``/aws/service/powertools/python/<architecture>/<runtime>/<version>``, so the function block
reads it for the provider's region. ``POWERTOOLS_VERSION`` and the pip pin in requirements.txt move together
(tests/unit/test_runtime_pins.py fails when they drift). The layer ships pydantic and the X-Ray SDK.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

__all__ = [
    "ARCHITECTURE",
    "ARCHITECTURES",
    "LAMBDA_RUNTIME",
    "POWERTOOLS_VERSION",
    "RUNTIMES",
    "current_account",
    "current_dns_suffix",
    "current_partition",
    "current_region",
    "powertools_layer_arn",
    "powertools_layer_parameter",
]

#: The runtimes the handlers and the shared runtime are tested on; the first is the default.
RUNTIMES = ("python3.13", "python3.12")
ARCHITECTURES = ("arm64", "x86_64")
LAMBDA_RUNTIME = RUNTIMES[0]
ARCHITECTURE = ARCHITECTURES[0]
POWERTOOLS_VERSION = "3.37.0"


def powertools_layer_parameter(runtime: str, architecture: str) -> str:
    """The public SSM parameter holding the layer ARN of the pinned Powertools release (never ``latest``, so a
    deploy does not change the layer behind the pin)."""
    return f"/aws/service/powertools/python/{architecture}/{runtime}/{POWERTOOLS_VERSION}"


def powertools_layer_arn(parent: pulumi.Resource, runtime: str, architecture: str) -> pulumi.Output[str]:
    """The Powertools layer ARN in the region (and partition) of the provider ``parent`` uses."""
    parameter = aws.ssm.get_parameter_output(
        name=powertools_layer_parameter(runtime, architecture), opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return parameter.insecure_value  # a public String parameter: `value` would needlessly be a secret


def current_region(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The region of the provider ``parent`` uses."""
    return aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region


def current_partition(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The partition (aws, aws-cn, aws-us-gov) of the provider ``parent`` uses: every ARN the library builds uses it."""
    return aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent)).partition


def current_dns_suffix(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The DNS suffix of the provider's partition (``amazonaws.com``, ``amazonaws.com.cn``): regional service
    principals such as ``logs.<region>.<suffix>`` use it."""
    return aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent)).dns_suffix


def current_account(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The account id of the provider ``parent`` uses."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
