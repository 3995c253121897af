"""TLS-only resource policies: a Deny for every principal when ``aws:SecureTransport`` is false."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from serverless_guard.model import statements

__all__ = ["denies_insecure_transport"]


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else []


def _everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and "*" in _listed(principal.get("AWS")))


def _insecure_only(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, Mapping) and str(block.get("aws:SecureTransport")).lower() == "false":
            return True
    return False


def denies_insecure_transport(documents: Iterable[Any], action: str) -> bool:
    """Whether one of the policy ``documents`` denies everyone ``action`` over plain HTTP (a service wildcard such
    as ``sqs:*`` or ``*`` covers it)."""
    service = action.split(":", 1)[0]
    covering = {action, f"{service}:*", "*"}
    for document in documents:
        for statement in statements(document):
            if (
                statement.get("Effect") == "Deny"
                and _everyone(statement.get("Principal"))
                and covering & set(_listed(statement.get("Action")))
                and _insecure_only(statement.get("Condition"))
            ):
                return True
    return False
