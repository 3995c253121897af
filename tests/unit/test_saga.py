"""The Saga component and its generated definition under Pulumi mocks."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pulumi_helpers import (
    FIXTURE_HANDLERS,
    TOPIC,
    assert_args_match_settings,
    definition_worst_case,
    iam_findings,
    statements,
)
from statelint.linter import Linter

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import run_declarations
from serverless_patterns import (
    ArgumentError,
    Saga,
    SagaArgs,
    SagaHandler,
    SagaHandlerSettings,
    SagaRetry,
    SagaRetrySettings,
    SagaSettings,
    SagaStep,
    SagaStepSettings,
    state_machine_arn_for,
)
from serverless_patterns.internals.runtime import current_account, current_partition, current_region
from serverless_patterns.internals.settings import resolve
from serverless_patterns.patterns.saga import worst_case_seconds
from serverless_patterns.patterns.saga_definition import (
    TRANSIENT_ERRORS,
    HandlerPlan,
    RetryPolicy,
    StepPlan,
    build_definition,
)

HANDLER = {"handler_package": "sample", "handler": "app.handler"}


def saga_args(steps: int = 3, **overrides: Any) -> SagaArgs:
    base: dict[str, Any] = {
        "alarm_topic_arn": TOPIC,
        "handlers_root": FIXTURE_HANDLERS,
        "steps": [
            {
                "name": f"step-{i}",
                "action": {**HANDLER, "timeout_seconds": 10 + i},
                **({"compensation": dict(HANDLER)} if i % 3 != 1 else {}),  # step-1, step-4: nothing to undo
                "business_errors": [f"Refused{i}"],
            }
            for i in range(steps)
        ],
        "final_handler": dict(HANDLER),
        "execution_timeout_seconds": 3600,
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def definition_of(run) -> dict[str, Any]:
    [machine] = run.of_type("aws:sfn/stateMachine:StateMachine")
    return json.loads(machine.inputs["definition"])


def tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}


def walk_compensations(definition: dict[str, Any], failed_step: str) -> list[str]:
    """The states a failure of ``failed_step`` goes through until the saga ends."""
    state = definition["States"][failed_step]["Catch"][-1]["Next"]
    path = []
    while definition["States"][state]["Type"] not in {"Succeed", "Fail"}:
        path.append(state)
        state = definition["States"][state]["Next"]
    return path


@pytest.mark.parametrize("steps", [1, 3, 7])
def test_definition_is_valid_asl(declare, steps: int):
    run = declare(lambda: Saga("checkout", saga_args(steps)))
    definition = definition_of(run)
    assert Linter.validate(definition) == []
    assert definition["StartAt"] == "step-0"
    assert len([n for n in definition["States"] if n.startswith("step-")]) == steps


def test_statelint_would_catch_a_broken_definition():
    retry = SagaRetrySettings().policy(SagaRetrySettings.STEP_ATTEMPTS)
    broken = build_definition(
        [StepPlan("a", HandlerPlan("arn:aws:lambda:us-east-1:1:function:a", 3), retry)],
        HandlerPlan("arn:aws:lambda:us-east-1:1:function:f", 3),
        execution_timeout_seconds=60,
        compensation_retry=retry,
        partition="aws",
        task_timeout_margin_seconds=5,
    )
    broken["States"]["a"]["Next"] = "nowhere"
    assert Linter.validate(broken) != []


@pytest.mark.parametrize("steps", [1, 3, 7])
def test_every_task_retries_with_backoff_and_full_jitter(declare, steps: int):
    definition = definition_of(declare(lambda: Saga("checkout", saga_args(steps))))
    for name, task in tasks(definition).items():
        [retrier] = task["Retry"]
        assert retrier["JitterStrategy"] == "FULL", name
        assert isinstance(retrier["BackoffRate"], float) and retrier["BackoffRate"] > 1, name
        assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"], name
        if name.startswith("step-"):
            assert retrier["ErrorEquals"] == TRANSIENT_ERRORS, "business errors are never retried"
            assert retrier["MaxAttempts"] == 3
        else:
            assert retrier["ErrorEquals"] == ["States.ALL"], "compensations retry anything"
            assert retrier["MaxAttempts"] == 5
            assert task["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.compensation_error", "Next": "CompensationFailed"}
            ]


def test_failures_compensate_every_started_step_in_reverse(declare):
    definition = definition_of(declare(lambda: Saga("checkout", saga_args(7))))
    # step-1 and step-4 have no compensation: they are skipped, everything else that started is undone.
    assert walk_compensations(definition, "step-0") == ["compensate-step-0", "finalize", "cancelled"]
    assert walk_compensations(definition, "step-1") == ["compensate-step-0", "finalize", "cancelled"]
    assert walk_compensations(definition, "step-5") == [
        "compensate-step-5",
        "compensate-step-3",
        "compensate-step-2",
        "compensate-step-0",
        "finalize",
        "cancelled",
    ]
    step = definition["States"]["step-2"]
    assert step["Catch"] == [
        {"ErrorEquals": ["Refused2"], "ResultPath": "$.error", "Next": "compensate-step-2"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "compensate-step-2"},
    ]
    assert definition["States"]["cancelled"]["Parameters"] == {"outcome": "CANCELLED", "reason.$": "$.error.Error"}
    assert definition["States"]["cancelled"]["Next"] == "saga-cancelled"
    assert definition["States"]["saga-cancelled"] == {"Type": "Succeed"}
    assert definition["States"]["CompensationFailed"]["Type"] == "Fail"
    assert definition["States"]["CompensationFailed"]["Error"] == "CompensationFailed"
    assert definition["States"]["step-6"]["Next"] == "completed"


def test_task_timeouts_exceed_function_timeouts(declare):
    run = declare(lambda: Saga("checkout", saga_args(3, task_timeout_margin_seconds=7)))
    definition = definition_of(run)
    functions = {f.inputs["name"]: f.inputs["timeout"] for f in run.of_type("aws:lambda/function:Function")}
    for name, task in tasks(definition).items():
        function = task["Parameters"]["FunctionName"].rsplit(":", 1)[1]
        assert task["TimeoutSeconds"] == functions[function] + 7, name
    assert definition["TimeoutSeconds"] == 3600


def test_role_invokes_exactly_its_functions(declare):
    run = declare(lambda: Saga("checkout", saga_args(3)))
    function_arns = sorted(f.state["arn"] for f in run.of_type("aws:lambda/function:Function"))
    assert len(function_arns) == 3 + 2 + 1  # actions, compensations (step-1 has none), final
    policy = {tuple(s["Action"]): s["Resource"] for s in statements(run.named("checkout-policy"))}
    assert sorted(policy[("lambda:InvokeFunction",)]) == function_arns
    assert (
        policy[
            tuple(
                sorted(
                    [
                        "logs:CreateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:DescribeLogGroups",
                        "logs:DescribeResourcePolicies",
                        "logs:GetLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:UpdateLogDelivery",
                    ]
                )
            )
        ]
        == "*"
    )
    trust = statements(run.named("checkout-role"), "assumeRolePolicy")[0]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert iam_findings(run)[1] == []


def test_logging_tracing_and_alarms(declare):
    run = declare(lambda: Saga("checkout", saga_args(2, log_retention_days=14)))
    [machine] = run.of_type("aws:sfn/stateMachine:StateMachine")
    assert machine.inputs["type"] == "STANDARD"
    assert machine.inputs["name"] == "serverless-orders-test-checkout"
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    logging = machine.inputs["loggingConfiguration"]
    assert (logging["level"], logging["includeExecutionData"]) == ("ALL", True)
    log_group = run.named("checkout-logs").inputs
    assert log_group["name"] == "/aws/vendedlogs/states/serverless-orders-test-checkout"
    assert log_group["retentionInDays"] == 14
    assert logging["logDestination"].startswith("arn:aws:logs:") and logging["logDestination"].endswith(":*")
    alarms = {
        a.inputs["metricName"]: a.inputs
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["namespace"] == "AWS/States"
    }
    assert set(alarms) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionThrottled", "ExecutionsAborted"}
    assert all(a["dimensions"] == {"StateMachineArn": machine.state["arn"]} for a in alarms.values())


def test_retry_overrides(declare):
    args = saga_args(1, compensation_retry={"max_attempts": 8, "max_delay_seconds": 60})
    args["steps"][0]["retry"] = {"max_attempts": 2, "interval_seconds": 3, "backoff_rate": 1.5, "max_delay_seconds": 9}
    definition = definition_of(declare(lambda: Saga("checkout", args)))
    assert definition["States"]["step-0"]["Retry"][0] | {"ErrorEquals": []} == {
        "ErrorEquals": [],
        "IntervalSeconds": 3,
        "MaxAttempts": 2,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 9,
        "JitterStrategy": "FULL",
    }
    assert definition["States"]["compensate-step-0"]["Retry"][0]["MaxAttempts"] == 8
    assert definition["States"]["finalize"]["Retry"][0]["MaxDelaySeconds"] == 60


def test_every_unreadable_or_out_of_range_field_is_reported_at_once(declare):
    bad = saga_args(2, execution_timeout_seconds=0, compensation_retry={"backoff_rate": 0.5})
    bad["steps"][0]["retry"] = {"max_attempts": 11, "interval_seconds": 10, "max_delay_seconds": 5}
    bad["steps"][1]["name"] = "Step One"
    bad["steps"].append({"name": "step-2"})  # type: ignore[typeddict-item]
    del bad["final_handler"]
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", bad))
    assert caught.value.problems == [
        "steps[0].retry.max_attempts must be between 0 and 10, got 11",
        "steps[1].name must be lower-case letters, digits and '-', starting with a letter, at most 40 characters; "
        "got 'Step One'",
        "steps[2].action is required",
        "final_handler is required",
        "execution_timeout_seconds must be between 1 and 31536000, got 0",
        "compensation_retry.backoff_rate must be between 1 and 10, got 0.5",
    ]


def test_every_rule_across_fields_is_reported_at_once(declare):
    bad = saga_args(2, execution_timeout_seconds=900, execution_timeout_bound_seconds=900)
    bad["steps"][0]["business_errors"] = ["TransientError", "bad name"]
    bad["steps"][0]["retry"] = {"interval_seconds": 10, "max_delay_seconds": 5}
    bad["steps"][1]["action"] = {"handler_package": "sample", "handler": "app.handler", "timeout_seconds": 0}
    bad["steps"].append({"name": "step-0", "action": dict(HANDLER)})  # type: ignore[typeddict-item]
    bad["final_handler"] = {"handler_package": "sample", "handler": "app.handler", "memory_mb": 64}
    bad["compensation_retry"] = {"interval_seconds": 40}
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", bad))
    assert caught.value.problems == [
        "steps: duplicate name 'step-0'",
        "steps[0].business_errors: 'TransientError' is retried as a transient error; it cannot be a business error",
        "steps[0].business_errors: 'bad name' is not an error name",
        "steps[0].retry.max_delay_seconds must be at least interval_seconds (10), got 5",
        "steps[1].action: timeout_seconds must be between 1 and 900, got 0",
        "final_handler: memory_mb must be between 128 and 10240, got 64",
        "compensation_retry.max_delay_seconds must be at least interval_seconds (40), got 30",
        "execution_timeout_seconds 900 must be shorter than the bound 900",
    ]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({k: v for k, v in saga_args().items() if k != "alarm_topic_arn"}, "alarm_topic_arn is required"),
        (
            saga_args(compensation_retyr={}),
            "unknown argument 'compensation_retyr' (did you mean 'compensation_retry'?)",
        ),
        (
            saga_args(compensation_retry={"max_attempt": 2}),
            "unknown argument 'compensation_retry.max_attempt' (did you mean 'max_attempts'?)",
        ),
        ({**saga_args(), "steps": {"name": "step-0", "action": HANDLER}}, "steps must be a list, got a mapping"),
        (saga_args(pivot=["step-0"]), "pivot must be a string, got a list"),
        (
            saga_args(alarm_topic_arn="alarms"),
            "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        ),
        (saga_args(final_handler={"handler": "app.handler"}), "final_handler.handler_package is required"),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", bad))
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    args = {k: v for k, v in saga_args(1).items() if k != "execution_timeout_seconds"}
    settings = resolve(SagaSettings, args, "Saga")
    assert (settings.execution_timeout_seconds, settings.task_timeout_margin_seconds) == (300, 5)
    assert settings.pivot is None and settings.execution_timeout_bound_seconds is None
    retry = settings.steps[0].retry
    assert retry == settings.compensation_retry == SagaRetrySettings()
    assert [retry.policy(a).max_attempts for a in (retry.STEP_ATTEMPTS, retry.FORWARD_ATTEMPTS)] == [3, 6]
    assert retry.policy(retry.COMPENSATION_ATTEMPTS) == RetryPolicy(5, 1, 2.0, 30)
    assert settings.steps[0].action.memory_mb is None, "the Function block's defaults apply"


@pytest.mark.parametrize(
    ("args_type", "settings_type"),
    [
        (SagaArgs, SagaSettings),
        (SagaStep, SagaStepSettings),
        (SagaHandler, SagaHandlerSettings),
        (SagaRetry, SagaRetrySettings),
    ],
)
def test_each_args_type_has_the_keys_of_its_settings(args_type: type, settings_type: type):
    assert_args_match_settings(args_type, settings_type)


def test_worst_case_seconds_reads_args_or_settings():
    args = saga_args(1)
    # one step of 10 s (+5 s margin): 4 attempts and 1+2+4 s of waits; its compensation and the final handler
    # (30 s, +5 s): 6 attempts and 1+2+4+8+16 s of waits each
    assert (
        worst_case_seconds(args)
        == worst_case_seconds(resolve(SagaSettings, args, "Saga"))
        == 4 * 15 + 7 + 2 * (6 * 35 + 31)
    )


def test_no_steps(declare):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", saga_args(0)))
    assert caught.value.problems == ["steps must hold at least one step"]


def test_an_execution_timeout_shorter_than_the_retry_budgets_is_refused(declare):
    with pytest.raises(
        ArgumentError, match=r"execution_timeout_seconds 300 is shorter than the worst case .*\(1\d{3}s"
    ):
        declare(lambda: Saga("checkout", saga_args(7, execution_timeout_seconds=300)))
    run = declare(lambda: Saga("checkout", saga_args(3)))
    definition = definition_of(run)
    assert definition_worst_case(definition) <= definition["TimeoutSeconds"]


def pivoted(steps: int = 4, pivot: int = 2) -> SagaArgs:
    """Steps before ``pivot`` are compensatable; the pivot and the steps after it only go forward."""
    args = saga_args(steps)
    for index, step in enumerate(args["steps"]):
        if index >= pivot:
            step.pop("compensation", None)
        if index > pivot:
            step.pop("business_errors", None)
    args["pivot"] = f"step-{pivot}"
    return args


def test_the_pivot_and_later_steps_retry_every_error_and_never_compensate(declare):
    definition = definition_of(declare(lambda: Saga("checkout", pivoted(4, pivot=2))))
    assert Linter.validate(definition) == []
    pivot = definition["States"]["step-2"]
    assert pivot["Retry"][0] == {"ErrorEquals": ["Refused2"], "MaxAttempts": 0}, "a refusal is never retried"
    assert pivot["Retry"][1]["ErrorEquals"] == ["States.ALL"]
    assert pivot["Retry"][1]["MaxAttempts"] == 6
    # A refusal by the pivot means it did not commit: the steps before it are undone (not the pivot itself).
    assert pivot["Catch"] == [
        {"ErrorEquals": ["Refused2"], "ResultPath": "$.error", "Next": "compensate-step-0"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PivotFailed"},
    ]
    after = definition["States"]["step-3"]
    assert [r["ErrorEquals"] for r in after["Retry"]] == [["States.ALL"]]
    assert after["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PivotFailed"}]
    assert definition["States"]["PivotFailed"]["Type"] == "Fail"
    assert "compensate-step-2" not in definition["States"] and "compensate-step-3" not in definition["States"]
    before = definition["States"]["step-0"]
    assert before["Retry"][0]["ErrorEquals"] == TRANSIENT_ERRORS
    assert {"Sandbox.Timedout", "Lambda.ClientExecutionTimeoutException", "States.Timeout"} <= set(TRANSIENT_ERRORS)
    assert definition_worst_case(definition) <= definition["TimeoutSeconds"]


def test_a_saga_without_a_pivot_has_no_pivot_failed_state(declare):
    definition = definition_of(declare(lambda: Saga("checkout", saga_args(3))))
    assert "PivotFailed" not in definition["States"]


def test_a_pivot_at_the_first_step_goes_straight_to_the_final_handler_on_refusal(declare):
    definition = definition_of(declare(lambda: Saga("checkout", pivoted(2, pivot=0))))
    assert definition["States"]["step-0"]["Catch"][0]["Next"] == "finalize"


def test_pivot_problems_are_reported_at_once(declare):
    args = saga_args(4)  # step-2 and step-3 keep their compensations, step-3 its business errors
    args["pivot"] = "step-2"
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", args))
    assert caught.value.problems == [
        "steps[2]: the pivot and the steps after it are never compensated; remove the compensation",
        "steps[3]: the pivot and the steps after it are never compensated; remove the compensation",
        "steps[3]: a step after the pivot cannot refuse (the outcome is decided); no business errors",
    ]
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Saga("checkout", {**saga_args(2), "pivot": "step-9"}))
    assert caught.value.problems == ["pivot 'step-9' is not a step (steps: step-0, step-1)"]


def test_arns_follow_the_providers_partition():
    def build() -> None:
        saga = Saga("checkout", pivoted(3, pivot=1))
        where = (current_region(saga), current_account(saga), current_partition(saga))
        pulumi.export("expected", state_machine_arn_for("checkout", *where))
        pulumi.export("actual", saga.state_machine_arn)

    run = run_declarations(OfflineMocks(region="cn-north-1"), build, project="serverless-orders")
    definition = definition_of(run)
    assert {task["Resource"] for task in tasks(definition).values()} == {"arn:aws-cn:states:::lambda:invoke"}
    assert Linter.validate(definition) == []
    machine = "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:serverless-orders-test-checkout"
    assert run.outputs["expected"] == run.outputs["actual"] == machine


def test_state_machine_arn_for_takes_the_partition_it_is_given(declare):
    def build() -> None:
        pulumi.export("arn", state_machine_arn_for("checkout", "us-gov-west-1", "123456789012", "aws-us-gov"))

    arn = declare(build).outputs["arn"]
    assert arn == "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:serverless-orders-test-checkout"
