"""The Amazon States Language definition of a saga, generated from its steps (no hand-written ASL per saga).

Each step is a Task invoking its action Lambda with a TimeoutSeconds above the function's timeout (or the saga
would compensate while the function still runs).

- Steps before the pivot are *compensatable*: retried on transient errors and timeouts (exponential backoff,
  capped, full jitter; a step is idempotent, so a timeout after its write is retried like one before it). Any
  error left after the retries (a business error at once) is caught into ``$.error`` and leads to the
  compensations of every step that started, the failed one included, in reverse order; then the final handler
  records the outcome and the saga ends in Succeed with ``{"outcome": "CANCELLED", "reason": <error name>}``.
- The pivot and the steps after it are *forward* steps: once the pivot may have committed, the saga only goes
  forward. They are retried on every error (timeouts included) except the pivot's business errors. A business
  error of the pivot means it definitely did not commit: the earlier steps are compensated as above. A forward
  step that keeps failing ends in Fail ``PivotFailed``, compensating nothing (whether it committed is unknown).
- A compensation or final handler that keeps failing ends in Fail ``CompensationFailed``.

So the only failed executions are the ones that need a human. Tasks invoke Lambda through the ``lambda:invoke``
integration of the provider's partition (``arn:aws-cn:states:::lambda:invoke`` in China). Retry budgets come
resolved from the saga's settings: :class:`RetryPolicy` has no defaults of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMPENSATION_FAILED",
    "PIVOT_FAILED",
    "TIMEOUT_ERRORS",
    "TRANSIENT_ERRORS",
    "HandlerPlan",
    "RetryPolicy",
    "StepPlan",
    "build_definition",
    "lambda_invoke_resource",
    "state_key",
]

#: How Step Functions reports a Lambda task that ran out of time (the function's or the Task's own timeout). A
#: timeout after a step's write is indistinguishable from one before it: idempotent steps retry both.
TIMEOUT_ERRORS = ["Sandbox.Timedout", "Lambda.ClientExecutionTimeoutException", "States.Timeout"]
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
    *TIMEOUT_ERRORS,
]
COMPENSATION_FAILED = "CompensationFailed"
PIVOT_FAILED = "PivotFailed"


@dataclass(frozen=True)
class RetryPolicy:
    """One Task's Retry: exponential backoff from ``interval_seconds``, capped at ``max_delay_seconds``."""

    max_attempts: int
    interval_seconds: int
    backoff_rate: float
    max_delay_seconds: int

    def worst_case_seconds(self, task_seconds: int) -> float:
        """The longest a retried Task can take: every attempt runs to its timeout, every wait is the longest."""
        waits = sum(
            min(self.interval_seconds * self.backoff_rate**i, self.max_delay_seconds) for i in range(self.max_attempts)
        )
        return (self.max_attempts + 1) * task_seconds + waits

    def retrier(self, errors: list[str]) -> dict[str, Any]:
        """A Retry entry for ``errors`` (``["States.ALL"]`` must be the last entry of a Retry list)."""
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
    retry: RetryPolicy
    compensation: HandlerPlan | None = None
    business_errors: tuple[str, ...] = ()
    forward: bool = False  # the pivot or a step after it: retried on every error but business errors, never undone


def state_key(name: str) -> str:
    """A step name as a JSONPath-safe key (``reserve-inventory`` → ``reserve_inventory``)."""
    return name.replace("-", "_")


def lambda_invoke_resource(partition: str) -> str:
    """The Step Functions integration that invokes a Lambda, in ``partition`` (aws, aws-cn, aws-us-gov)."""
    return f"arn:{partition}:states:::lambda:invoke"


def _invoke(handler: HandlerPlan, margin: int, partition: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": lambda_invoke_resource(partition),
        "Parameters": {"FunctionName": handler.arn, "Payload.$": "$"},
        "TimeoutSeconds": handler.timeout_seconds + margin,
    }


def build_definition(
    steps: list[StepPlan],
    final: HandlerPlan,
    *,
    execution_timeout_seconds: int,
    compensation_retry: RetryPolicy,
    partition: str,
    task_timeout_margin_seconds: int,
    comment: str = "",
) -> dict[str, Any]:
    """The state machine definition (a dict ready for ``json.dumps``) for the provider's ``partition``."""
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
        retry: list[dict[str, Any]] = []
        catch: list[dict[str, Any]] = []
        undo = compensation_entry(index - 1) if step.forward else compensation_entry(index)
        if step.business_errors:
            if step.forward:  # a refusal is definite: never retried (MaxAttempts 0), the earlier steps are undone
                retry.append({"ErrorEquals": list(step.business_errors), "MaxAttempts": 0})
            catch.append({"ErrorEquals": list(step.business_errors), "ResultPath": "$.error", "Next": undo})
        if step.forward:
            retry.append(step.retry.retrier(["States.ALL"]))
            catch.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": PIVOT_FAILED})
        else:
            retry.append(step.retry.retrier(TRANSIENT_ERRORS))
            catch.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": undo})
        states[step.name] = {
            **_invoke(step.action, margin, partition),
            "ResultSelector": {"Payload.$": "$.Payload"},
            "ResultPath": f"$.results.{state_key(step.name)}",
            "Retry": retry,
            "Catch": catch,
            "Next": steps[index + 1].name if index + 1 < len(steps) else "completed",
        }
        if step.compensation is not None:
            states[f"compensate-{step.name}"] = {
                **_invoke(step.compensation, margin, partition),
                "ResultPath": None,
                "Retry": [compensation_retry.retrier(["States.ALL"])],
                "Catch": [compensation_failed],
                "Next": compensation_entry(index - 1) if index > 0 else "finalize",
            }
    states["finalize"] = {
        **_invoke(final, margin, partition),
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
    if any(step.forward for step in steps):
        states[PIVOT_FAILED] = {
            "Type": "Fail",
            "Error": PIVOT_FAILED,
            "Cause": "The pivot or a step after it kept failing after its retries: whether it committed is unknown, "
            "so nothing was compensated and the saga needs a human.",
        }
    return {
        "Comment": comment or f"Saga of {len(steps)} steps with compensations (generated)",
        "StartAt": steps[0].name,
        "TimeoutSeconds": execution_timeout_seconds,
        "States": states,
    }
