"""The pinned Lambda runtime and the Powertools layer that matches the pinned aws-lambda-powertools release.

The pip pin in requirements.txt and ``POWERTOOLS_VERSION`` move together with ``POWERTOOLS_LAYER_VERSION``
(tests/unit/test_runtime_pins.py fails when they drift). The layer ships pydantic and the X-Ray SDK.
Check a layer version's contents with ``aws lambda get-layer-version-by-arn --arn <arn>``: its Description
ends with the Powertools version.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

__all__ = [
    "ARCHITECTURE",
    "LAMBDA_RUNTIME",
    "POWERTOOLS_LAYER_ACCOUNT",
    "POWERTOOLS_LAYER_NAME",
    "POWERTOOLS_LAYER_VERSION",
    "POWERTOOLS_VERSION",
    "current_account",
    "current_partition",
    "current_region",
    "powertools_layer_arn",
]

LAMBDA_RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python313-arm64"
POWERTOOLS_LAYER_VERSION = 27


def powertools_layer_arn(region: pulumi.Input[str], partition: pulumi.Input[str] = "aws") -> pulumi.Output[str]:
    """The public Powertools layer ARN in ``region``."""
    return pulumi.Output.format(
        "arn:{0}:lambda:{1}:{2}:layer:{3}:{4}",
        partition,
        region,
        POWERTOOLS_LAYER_ACCOUNT,
        POWERTOOLS_LAYER_NAME,
        POWERTOOLS_LAYER_VERSION,
    )


def current_region(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The region of the provider ``parent`` uses."""
    return aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region


def current_partition(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The partition (aws, aws-cn, aws-us-gov) of the provider ``parent`` uses: every ARN the library builds uses it."""
    return aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent)).partition


def current_account(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The account id of the provider ``parent`` uses."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
