"""Amazon States Language definitions: the Tasks that invoke Lambda, nested Parallel and Map states included."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from serverless_guard.model import json_value

__all__ = ["invoked_function", "lambda_tasks"]


def invoked_function(state: Mapping[str, Any]) -> str | None:
    """The function a Task invokes (``""`` when it is chosen at run time), None for a Task that is not Lambda's."""
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return None
    if ":lambda:" in resource and ":function:" in resource:
        return resource
    if ":states:::lambda:invoke" not in resource:
        return None
    for key in ("Parameters", "Arguments"):
        arguments = state.get(key)
        if isinstance(arguments, Mapping) and isinstance(arguments.get("FunctionName"), str):
            name = arguments["FunctionName"]
            return "" if name.startswith("{%") else name  # a JSONata expression
    return ""  # FunctionName.$: a JSONPath, chosen at run time


def lambda_tasks(definition: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(state name, state) of every Task of ``definition`` (JSON text or data) that invokes Lambda."""

    def walk(states: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
        if not isinstance(states, Mapping):
            return
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            if state.get("Type") == "Task" and invoked_function(state) is not None:
                yield str(name), state
            for branch in state.get("Branches") or []:
                yield from walk(branch.get("States") if isinstance(branch, Mapping) else None)
            for key in ("Iterator", "ItemProcessor"):
                nested = state.get(key)
                if isinstance(nested, Mapping):
                    yield from walk(nested.get("States"))

    document = json_value(definition)
    if isinstance(document, Mapping):
        yield from walk(document.get("States"))
