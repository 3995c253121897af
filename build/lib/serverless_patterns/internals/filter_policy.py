"""Validation of SNS subscription filter policies, before deploy.

Covers the filter-policy grammar SNS accepts: exact strings, numbers, booleans and null; the operators
``prefix``, ``suffix``, ``anything-but``, ``numeric``, ``exists``, ``equals-ignore-case``, ``cidr`` and
``wildcard``; nested objects (``MessageBody`` scope only); ``$or``; at most 5 keys and at most 150 value
combinations. SNS itself remains the final judge; this catches what would fail ``pulumi up``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

__all__ = ["FilterScope", "filter_policy_problems"]

FilterScope = Literal["MessageAttributes", "MessageBody"]
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}
_MAX_KEYS = 5
_MAX_COMBINATIONS = 150


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numeric_problems(where: str, spec: object) -> list[str]:
    if not isinstance(spec, list) or not spec or len(spec) % 2:
        return [f"{where}: numeric takes [op, value] or [op, value, op, value]"]
    pairs = [(spec[i], spec[i + 1]) for i in range(0, len(spec), 2)]
    problems = [
        f"{where}: numeric operator {op!r} is not one of = < <= > >=" for op, _ in pairs if op not in _NUMERIC_OPS
    ]
    problems += [f"{where}: numeric value {v!r} is not a number" for _, v in pairs if not _is_number(v)]
    if len(pairs) > 2 or (len(pairs) == 2 and (pairs[0][0] not in {">", ">="} or pairs[1][0] not in {"<", "<="})):
        problems.append(f"{where}: a numeric range is [> or >=, low, < or <=, high]")
    return problems


def _operator_problems(where: str, condition: dict[str, Any]) -> list[str]:
    if len(condition) != 1:
        return [f"{where}: an operator object has exactly one key, got {sorted(condition)}"]
    [(operator, value)] = condition.items()
    if operator in {"prefix", "suffix", "equals-ignore-case", "wildcard", "cidr"}:
        return [] if isinstance(value, str) and value else [f"{where}: {operator} takes a non-empty string"]
    if operator == "exists":
        return [] if isinstance(value, bool) else [f"{where}: exists takes true or false"]
    if operator == "numeric":
        return _numeric_problems(where, value)
    if operator == "anything-but":
        if isinstance(value, str) or _is_number(value):
            return []
        if isinstance(value, list) and value and all(isinstance(v, str) or _is_number(v) for v in value):
            return []
        if isinstance(value, dict) and set(value) <= {"prefix", "suffix"} and len(value) == 1:
            return []
        return [f"{where}: anything-but takes a string, a number, a list of them, or {{prefix|suffix: ...}}"]
    return [f"{where}: unknown operator {operator!r}"]


def _values_problems(where: str, values: object) -> tuple[list[str], int]:
    if not isinstance(values, list) or not values:
        return [f"{where}: must be a non-empty list of values or operator objects"], 1
    problems: list[str] = []
    for index, condition in enumerate(values):
        here = f"{where}[{index}]"
        if isinstance(condition, dict):
            problems += _operator_problems(here, condition)
        elif not (condition is None or isinstance(condition, str | bool) or _is_number(condition)):
            problems.append(f"{here}: {condition!r} is not a string, number, boolean, null or operator object")
    return problems, len(values)


def _policy_problems(where: str, policy: object, scope: FilterScope, depth: int) -> tuple[list[str], int, int]:
    """(problems, value combinations, keys) of one policy object."""
    if not isinstance(policy, dict) or not policy:
        return [f"{where or 'filter policy'}: must be a non-empty JSON object"], 1, 0
    problems: list[str] = []
    combinations = 1
    keys = 0
    for key, value in policy.items():
        here = f"{where}.{key}" if where else str(key)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                problems.append(f"{here}: $or takes a list of at least two policies")
                continue
            total = 0
            for index, branch in enumerate(value):
                branch_problems, branch_combinations, branch_keys = _policy_problems(
                    f"{here}[{index}]", branch, scope, depth
                )
                problems += branch_problems
                total += branch_combinations
                keys += branch_keys
            combinations *= max(total, 1)
        elif isinstance(value, dict):
            if scope != "MessageBody":
                problems.append(f"{here}: nested keys need filter_policy_scope MessageBody")
            nested_problems, nested_combinations, nested_keys = _policy_problems(here, value, scope, depth + 1)
            problems += nested_problems
            combinations *= nested_combinations
            keys += nested_keys
        else:
            value_problems, count = _values_problems(here, value)
            problems += value_problems
            combinations *= count
            keys += 1
    return problems, combinations, keys


def filter_policy_problems(policy: object, scope: FilterScope = "MessageAttributes") -> list[str]:
    """Every reason SNS would reject ``policy`` (a parsed JSON object) under ``scope``; empty when valid."""
    if scope not in ("MessageAttributes", "MessageBody"):
        return [f"filter_policy_scope must be MessageAttributes or MessageBody, got {scope!r}"]
    problems, combinations, keys = _policy_problems("", policy, scope, 0)
    if keys > _MAX_KEYS:
        problems.append(f"a filter policy may name at most {_MAX_KEYS} keys, this one names {keys}")
    if combinations > _MAX_COMBINATIONS:
        problems.append(
            f"a filter policy may have at most {_MAX_COMBINATIONS} value combinations, this one has {combinations}"
        )
    return problems
