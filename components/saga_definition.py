"""The Amazon States Language definition of a saga, generated from its steps (no hand-written ASL per saga).

Each step is a Task invoking its action Lambda, retried on transient errors only (exponential backoff, capped,
full jitter), with a TimeoutSeconds above the function's timeout (or the saga would compensate while the function
still runs). Any error left after the retries (a business error at once) is caught into ``$.error`` and leads to
the compensations of every step that started, the failed one included, in reverse order; then the final handler
records the outcome and the saga ends in Succeed with ``{"outcome": "CANCELLED", "reason": <error name>}``. A
compensation or final handler that keeps failing ends in Fail ``CompensationFailed``: the only failed executions
are the ones that need a human.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMPENSATION_FAILED",
    "TRANSIENT_ERRORS",
    "HandlerPlan",
    "RetryPolicy",
    "StepPlan",
    "build_definition",
    "state_key",
]

TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
]
COMPENSATION_FAILED = "CompensationFailed"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    interval_seconds: int = 1
    backoff_rate: float = 2.0
    max_delay_seconds: int = 30

    def worst_case_seconds(self, task_seconds: int) -> float:
        """The longest a retried Task can take: every attempt runs to its timeout, every wait is the longest."""
        waits = sum(
            min(self.interval_seconds * self.backoff_rate**i, self.max_delay_seconds) for i in range(self.max_attempts)
        )
        return (self.max_attempts + 1) * task_seconds + waits

    def retrier(self, errors: list[str]) -> dict[str, Any]:
        return {
            "ErrorEquals": errors,
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": float(self.backoff_rate),  # statelint wants a float
            "MaxDelaySeconds": self.max_delay_seconds,
            "JitterStrategy": "FULL",
        }


@dataclass(frozen=True)
class HandlerPlan:
    """A Lambda the definition invokes: its ARN and timeout."""

    arn: str
    timeout_seconds: int


@dataclass(frozen=True)
class StepPlan:
    name: str
    action: HandlerPlan
    compensation: HandlerPlan | None = None
    business_errors: tuple[str, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def state_key(name: str) -> str:
    """A step name as a JSONPath-safe key (``reserve-inventory`` → ``reserve_inventory``)."""
    return name.replace("-", "_")


def _invoke(handler: HandlerPlan, margin: int) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": handler.arn, "Payload.$": "$"},
        "TimeoutSeconds": handler.timeout_seconds + margin,
    }


def build_definition(
    steps: list[StepPlan],
    final: HandlerPlan,
    *,
    execution_timeout_seconds: int,
    compensation_retry: RetryPolicy,
    task_timeout_margin_seconds: int = 5,
    comment: str = "",
) -> dict[str, Any]:
    """The state machine definition (a dict ready for ``json.dumps``)."""
    margin = task_timeout_margin_seconds
    states: dict[str, Any] = {}
    compensation_failed = {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.compensation_error",
        "Next": COMPENSATION_FAILED,
    }

    # Compensations chain downwards: compensate-<i> → the next lower step with a compensation → finalize.
    def compensation_entry(index: int) -> str:
        for lower in range(index, -1, -1):
            if steps[lower].compensation is not None:
                return f"compensate-{steps[lower].name}"
        return "finalize"

    for index, step in enumerate(steps):
        catch: list[dict[str, Any]] = []
        if step.business_errors:
            catch.append(
                {"ErrorEquals": list(step.business_errors), "ResultPath": "$.error", "Next": compensation_entry(index)}
            )
        catch.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": compensation_entry(index)})
        states[step.name] = {
            **_invoke(step.action, margin),
            "ResultSelector": {"Payload.$": "$.Payload"},
            "ResultPath": f"$.results.{state_key(step.name)}",
            "Retry": [step.retry.retrier(TRANSIENT_ERRORS)],
            "Catch": catch,
            "Next": steps[index + 1].name if index + 1 < len(steps) else "completed",
        }
        if step.compensation is not None:
            states[f"compensate-{step.name}"] = {
                **_invoke(step.compensation, margin),
                "ResultPath": None,
                "Retry": [compensation_retry.retrier(["States.ALL"])],
                "Catch": [compensation_failed],
                "Next": compensation_entry(index - 1) if index > 0 else "finalize",
            }
    states["finalize"] = {
        **_invoke(final, margin),
        "ResultPath": None,
        "Retry": [compensation_retry.retrier(["States.ALL"])],
        "Catch": [compensation_failed],
        "Next": "cancelled",
    }
    states["cancelled"] = {
        "Type": "Pass",
        "Parameters": {"outcome": "CANCELLED", "reason.$": "$.error.Error"},
        "Next": "saga-cancelled",
    }
    states["saga-cancelled"] = {"Type": "Succeed"}
    states["completed"] = {"Type": "Pass", "Parameters": {"outcome": "COMPLETED"}, "Next": "saga-completed"}
    states["saga-completed"] = {"Type": "Succeed"}
    states[COMPENSATION_FAILED] = {
        "Type": "Fail",
        "Error": COMPENSATION_FAILED,
        "Cause": "A compensation kept failing after its retries: the saga's side effects need a human.",
    }
    return {
        "Comment": comment or f"Saga of {len(steps)} steps with compensations (generated)",
        "StartAt": steps[0].name,
        "TimeoutSeconds": execution_timeout_seconds,
        "States": states,
    }
