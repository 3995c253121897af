"""Step Functions: full execution logs, X-Ray, and Task timeouts longer than the functions they invoke (a shorter
one times the Task out while the function still runs, and the workflow retries or compensates a step that may yet
succeed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from serverless_guard.definitions import invoked_function, lambda_tasks
from serverless_guard.model import (
    UNKNOWN,
    GuardConfig,
    Resource,
    ResourceRule,
    StackRule,
    Violation,
    number,
    violation,
)
from serverless_guard.stack import Stack
from serverless_guard.types import FUNCTION, STATE_MACHINE

__all__ = ["RULES"]

DEFAULT_FUNCTION_TIMEOUT = 3


def _logging(machine: Resource, _: GuardConfig) -> Iterator[Violation]:
    level = machine.get("loggingConfiguration", "level")
    data = machine.get("loggingConfiguration", "includeExecutionData")
    destination = machine.get("loggingConfiguration", "logDestination")
    problems = []
    if level not in ("ALL", UNKNOWN):
        problems.append(f"logs at level {level or 'OFF'}")
    if data not in (True, UNKNOWN):
        problems.append("leaves execution data out of its logs")
    if destination in (None, ""):
        problems.append("has no log destination")
    if problems:
        yield violation(
            machine,
            ", ".join(problems),
            "set logging_configuration={'level': 'ALL', 'include_execution_data': True, "
            "'log_destination': '<log group ARN>:*'}",
        )


def _tracing(machine: Resource, _: GuardConfig) -> Iterator[Violation]:
    if machine.get("tracingConfiguration", "enabled") not in (True, UNKNOWN):
        yield violation(machine, "does not trace with X-Ray", "set tracing_configuration={'enabled': True}")


def _task_timeouts(resources: Sequence[Resource], _: GuardConfig) -> Iterator[Violation]:
    stack = Stack(resources)
    functions = stack.of_type(FUNCTION)
    for machine in stack.of_type(STATE_MACHINE):
        for name, task in lambda_tasks(machine.get("definition")):
            timeout = number(task.get("TimeoutSeconds"))
            if timeout is None:
                yield violation(
                    machine,
                    f"Task '{name}' has no TimeoutSeconds: it waits for its Lambda invocation as long as the "
                    "execution lasts",
                    "set TimeoutSeconds above the invoked function's timeout (the Saga pattern adds a margin)",
                )
                continue
            for fn in stack.referenced(machine, "definition", invoked_function(task), functions):
                function_timeout = fn.get("timeout")
                if function_timeout is UNKNOWN:
                    continue
                limit = number(function_timeout) or DEFAULT_FUNCTION_TIMEOUT
                if timeout <= limit:
                    yield violation(
                        machine,
                        f"Task '{name}' times out after {timeout:g}s, not above the {limit:g}s timeout of "
                        f"'{fn.name}': the Task fails while the function may still succeed",
                        f"set TimeoutSeconds above {limit:g} (the function timeout plus a few seconds)",
                    )


RULES = [
    ResourceRule(
        "sfn-logging-all",
        "State machines log every event (level ALL) with execution data to a log group.",
        frozenset({STATE_MACHINE}),
        _logging,
        cdk_nag=("AwsSolutions-SF1",),
    ),
    ResourceRule(
        "sfn-xray-tracing",
        "State machines trace with X-Ray.",
        frozenset({STATE_MACHINE}),
        _tracing,
        cdk_nag=("Serverless-StepFunctionStateMachineXray", "AwsSolutions-SF2"),
    ),
    StackRule(
        "sfn-task-timeouts",
        "Every Lambda Task has a TimeoutSeconds above the timeout of the function it invokes.",
        _task_timeouts,
    ),
]
