"""What AWS publishes to every account, as the offline mocks and the moto deployer answer it: the partition of a
region and the public SSM parameters a stack reads (the Powertools layer of each runtime and architecture)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["POWERTOOLS_LAYER_ACCOUNT", "dns_suffix", "partition_of", "public_parameter"]

#: The account that publishes the Powertools for AWS Lambda (Python) layers.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
_LAYER_VERSION = 27  # a version as AWS numbers them; the local cloud drops layers, so its value never matters
_POWERTOOLS_PARAMETER = re.compile(
    r"^/aws/service/powertools/python/(?P<architecture>arm64|x86_64)/(?P<runtime>python3\.\d+)/"
    r"(?P<version>\d+\.\d+\.\d+|latest)$"
)


def partition_of(region: str) -> str:
    """The partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if partition_of(region) == "aws-cn" else "amazonaws.com"


def public_parameter(name: str, region: str) -> dict[str, Any] | None:
    """``aws:ssm/getParameter`` 's answer for a public parameter in ``region``, or None when AWS publishes none."""
    match = _POWERTOOLS_PARAMETER.match(name)
    if match is None:
        return None
    partition = partition_of(region)
    layer = f"AWSLambdaPowertoolsPythonV3-{match['runtime'].replace('.', '')}-{match['architecture']}"
    value = f"arn:{partition}:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{layer}:{_LAYER_VERSION}"
    return {
        "arn": f"arn:{partition}:ssm:{region}::parameter{name}",
        "id": name,
        "name": name,
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
        "withDecryption": True,
    }
