"""The AWS provider tags every resource it creates (``default_tags``) with the tags cost reports and on-call need."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from serverless_guard.model import UNKNOWN, GuardConfig, Resource, ResourceRule, Violation, json_value, violation
from serverless_guard.types import PROVIDER

__all__ = ["RULES"]


def _default_tags(provider: Resource, config: GuardConfig) -> Iterator[Violation]:
    default_tags = json_value(provider.get("defaultTags"))
    if default_tags is UNKNOWN:
        return
    tags = default_tags.get("tags") if isinstance(default_tags, Mapping) else None
    tags = json_value(tags) if isinstance(tags, str) else tags
    if tags is UNKNOWN:
        return
    present = {k for k, v in tags.items() if v not in (None, "")} if isinstance(tags, Mapping) else set()
    missing = [t for t in config.required_tags if t not in present]
    if missing:
        wanted = ", ".join(f"'{t}': ..." for t in config.required_tags)
        yield violation(
            provider,
            f"does not tag resources with {', '.join(missing)}",
            f"create the provider with default_tags={{'tags': {{{wanted}}}}} (or set aws:defaultTags in the "
            "stack config for the default provider)",
        )


RULES = [
    ResourceRule(
        "provider-default-tags",
        "The AWS provider's default_tags carry the required tags (project, stack, owner, cost-center by default).",
        frozenset({PROVIDER}),
        _default_tags,
        config=("requiredTags",),
    ),
]
