"""What AWS publishes to every account (partitions, the public SSM parameters): moved into the library
(:mod:`serverless_patterns.testing.public_aws`), imported from here as before."""

from __future__ import annotations

from serverless_patterns.testing.public_aws import POWERTOOLS_LAYER_ACCOUNT, dns_suffix, partition_of, public_parameter

__all__ = ["POWERTOOLS_LAYER_ACCOUNT", "dns_suffix", "partition_of", "public_parameter"]
