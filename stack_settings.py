"""The stack configuration, read once into a typed, validated settings object.

Pulumi hands config to the program as ``<namespace>:<key>`` strings (structured values JSON-encoded). Every key
of the project's namespace must be known and valid; a bad stack fails before any resource is declared with one
error naming every bad key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serverless_patterns import (
    EMAIL_PATTERN,
    LOG_LEVELS,
    LOG_RETENTION_DAYS,
    ArgumentError,
    ScheduleError,
    parse_schedule,
)

__all__ = ["KNOWN_KEYS", "ConfigError", "StackSettings", "load_settings", "settings_from_pulumi"]

_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{1,256}$")


class ConfigError(ArgumentError):
    """The stack configuration is invalid; ``problems`` names every bad key."""


@dataclass(frozen=True)
class StackSettings:
    """Everything the program reads from stack config (defaults in the field definitions)."""

    project: str
    stack: str
    region: str
    owner: str
    cost_center: str
    alarm_email: str | None = None
    log_retention_days: int = 30
    log_level: str = "INFO"
    deletion_protection: bool = True
    customer_keys: bool = False
    inventory: dict[str, int] = field(default_factory=dict)
    payment_limit: float = 1000.0
    pending_order_ttl_minutes: int = 15
    expire_orders_schedule: str = "rate(5 minutes)"

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags every resource carries (the provider's ``default_tags``)."""
        return {"project": self.project, "stack": self.stack, "owner": self.owner, "cost-center": self.cost_center}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _tag(key: str, problems: list[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            problems.append(f"{key}: must be a tag value (1-256 letters, digits, spaces, _.:/=+-@); got {value!r}")
        return str(value)

    return parse


def _log_retention(problems: list[str]) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = _parse_json(value) if isinstance(value, str) else value
        if isinstance(number, bool) or number not in LOG_RETENTION_DAYS:
            shown = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
            problems.append(f"logRetentionDays: must be one of {shown}; got {value!r}")
            return 30
        return int(number)

    return parse


def _positive_int(key: str, problems: list[str], low: int = 1) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = _parse_json(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int) or number < low:
            problems.append(f"{key}: must be an integer >= {low}; got {value!r}")
            return low
        return number

    return parse


def _positive_number(key: str, problems: list[str]) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        number = _parse_json(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            problems.append(f"{key}: must be a number > 0; got {value!r}")
            return 1.0
        return float(number)

    return parse


def _bool(key: str, problems: list[str]) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        parsed = _parse_json(value) if isinstance(value, str) else value
        if not isinstance(parsed, bool):
            problems.append(f"{key}: must be true or false; got {value!r}")
            return True
        return parsed

    return parse


def _email(problems: list[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not EMAIL_PATTERN.match(value):
            problems.append(f"alarmEmail: not an e-mail address: {value!r}")
        return str(value)

    return parse


def _log_level(problems: list[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in LOG_LEVELS:
            problems.append(f"logLevel: must be one of {', '.join(LOG_LEVELS)}; got {value!r}")
        return str(value)

    return parse


def _inventory(problems: list[str]) -> Callable[[Any], dict[str, int]]:
    def parse(value: Any) -> dict[str, int]:
        parsed = _parse_json(value) if isinstance(value, str) else value
        if not isinstance(parsed, dict):
            problems.append(f"inventory: must be a map of sku to stock count; got {value!r}")
            return {}
        result: dict[str, int] = {}
        for sku, count in parsed.items():
            if not _SKU.match(str(sku)):
                problems.append(f"inventory: sku {sku!r} must be 1-64 letters, digits, '.', '_' or '-'")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                problems.append(f"inventory.{sku}: stock must be an integer >= 0; got {count!r}")
                continue
            result[str(sku)] = count
        return result

    return parse


def _schedule(problems: list[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        try:
            parse_schedule(str(value))
        except ScheduleError as error:
            problems.append(f"expireOrdersSchedule: {error}")
        return str(value)

    return parse


def _parsers(problems: list[str]) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Config key → (settings field, parser). Parsers record problems instead of raising."""
    return {
        "owner": ("owner", _tag("owner", problems)),
        "costCenter": ("cost_center", _tag("costCenter", problems)),
        "alarmEmail": ("alarm_email", _email(problems)),
        "logRetentionDays": ("log_retention_days", _log_retention(problems)),
        "logLevel": ("log_level", _log_level(problems)),
        "deletionProtection": ("deletion_protection", _bool("deletionProtection", problems)),
        "customerKeys": ("customer_keys", _bool("customerKeys", problems)),
        "inventory": ("inventory", _inventory(problems)),
        "paymentLimit": ("payment_limit", _positive_number("paymentLimit", problems)),
        "pendingOrderTtlMinutes": ("pending_order_ttl_minutes", _positive_int("pendingOrderTtlMinutes", problems)),
        "expireOrdersSchedule": ("expire_orders_schedule", _schedule(problems)),
    }


KNOWN_KEYS: tuple[str, ...] = tuple(_parsers([]))
_REQUIRED = ("owner", "costCenter")


def load_settings(project: str, stack: str, config: Mapping[str, Any]) -> StackSettings:
    """Parse ``config`` (``namespace:key`` → value, as Pulumi passes it) into :class:`StackSettings`.

    Raises :class:`ConfigError` naming every unknown, missing or invalid key at once.
    """
    problems: list[str] = []
    parsers = _parsers(problems)
    values: dict[str, Any] = {}
    for full_key, raw in sorted(config.items()):
        namespace, _, key = full_key.partition(":")
        if namespace != project:
            continue
        if key not in parsers:
            problems.append(f"{key}: unknown key (known keys: {', '.join(sorted(parsers))})")
            continue
        field_name, parse = parsers[key]
        values[field_name] = parse(raw)
    for key in _REQUIRED:
        if f"{project}:{key}" not in config:
            problems.append(f"{key}: required")
    region = _string(config.get("aws:region")) or "us-east-1"
    if not _AWS_REGION.match(region):
        problems.append(f"aws:region: not a region name: {region!r}")
    if problems:
        raise ConfigError(f"stack {stack!r} configuration", problems)
    return StackSettings(project=project, stack=stack, region=region, **values)


def settings_from_pulumi() -> StackSettings:
    """Read the running program's config (set by the engine, or by mocks in tests and the local cloud)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_settings(pulumi.get_project(), pulumi.get_stack(), merged)
