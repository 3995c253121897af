"""The checkout saga really executing in moto's Step Functions, its Lambdas run in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from checkout_harness import CheckoutCloud, declared_stack, deploy_checkout
from moto import mock_aws

from localcloud.lambda_runtime import InvocationError, LocalFunction, moto_runs_lambdas_in_process
from localcloud.program import ProgramRun

STOCK = {"sku-apple": 10, "sku-pear": 5}


@pytest.fixture(scope="module")
def declared() -> ProgramRun:
    return declared_stack()


@pytest.fixture
def registry(declared, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, LocalFunction]]:
    import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier

    # Retry waits are skipped (not the retry logic): only the retrier's own reference to the time module changes.
    monkeypatch.setattr(retrier, "time", SimpleNamespace(sleep=lambda seconds: None))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), moto_runs_lambdas_in_process() as reg:
        yield reg


@pytest.fixture
def cloud(declared, registry) -> CheckoutCloud:
    return deploy_checkout(declared, registry, STOCK)


def output(execution: dict[str, Any]) -> dict[str, Any]:
    return json.loads(execution["output"])


def history(execution: dict[str, Any]) -> list[str]:
    """Names of the Task states that were entered, in order."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]


def wrap(registry: dict[str, LocalFunction], cloud: CheckoutCloud, key: str, wrapper: Any) -> list[int]:
    """Replace one function's invoke with ``wrapper(real_invoke, event, call_number)``; returns the call log."""
    function = registry[cloud.functions[key]]
    real = function.invoke
    calls: list[int] = []

    def invoke(event: Any) -> Any:
        calls.append(len(calls) + 1)
        return wrapper(real, event, len(calls))

    function.invoke = invoke  # type: ignore[method-assign]
    return calls


def test_success_confirms_the_order_with_stock_taken_and_payment_charged(cloud: CheckoutCloud):
    execution = cloud.run(cloud.place_pending_order("o-ok", {"sku-apple": 3, "sku-pear": 1}, 120.5))
    assert execution["status"] == "SUCCEEDED"
    assert output(execution) == {"outcome": "COMPLETED"}
    assert history(execution) == ["reserve-inventory", "charge-payment", "confirm-order"]
    order = cloud.item("ORDERS_TABLE", "o-ok")
    assert (order["status"], order["version"]) == ("CONFIRMED", 2)
    assert (cloud.stock("sku-apple"), cloud.stock("sku-pear")) == (7, 4)
    assert cloud.item("PAYMENTS_TABLE", "o-ok")["status"] == "CHARGED"
    assert cloud.item("RESERVATIONS_TABLE", "o-ok")["status"] == "RESERVED"


def test_out_of_stock_cancels_with_nothing_taken(cloud: CheckoutCloud):
    execution = cloud.run(cloud.place_pending_order("o-short", {"sku-apple": 3, "sku-pear": 6}, 50))
    assert execution["status"] == "SUCCEEDED"
    assert output(execution) == {"outcome": "CANCELLED", "reason": "OutOfStock"}
    assert history(execution) == ["reserve-inventory", "compensate-reserve-inventory", "finalize"]
    order = cloud.item("ORDERS_TABLE", "o-short")
    assert (order["status"], order["reason"]) == ("CANCELLED", "OutOfStock")
    assert (cloud.stock("sku-apple"), cloud.stock("sku-pear")) == (10, 5), "all or nothing"
    assert cloud.item("PAYMENTS_TABLE", "o-short") == {}
    assert cloud.item("RESERVATIONS_TABLE", "o-short") == {}


def test_unknown_sku_counts_as_no_stock(cloud: CheckoutCloud):
    execution = cloud.run(cloud.place_pending_order("o-ghost", {"sku-ghost": 1}, 5))
    assert output(execution) == {"outcome": "CANCELLED", "reason": "OutOfStock"}


def test_payment_declined_compensates_reserve_and_charge_in_reverse(cloud: CheckoutCloud):
    execution = cloud.run(cloud.place_pending_order("o-big", {"sku-apple": 2}, 1500))
    assert output(execution) == {"outcome": "CANCELLED", "reason": "PaymentDeclined"}
    assert history(execution) == [
        "reserve-inventory",
        "charge-payment",
        "compensate-charge-payment",
        "compensate-reserve-inventory",
        "finalize",
    ]
    assert cloud.item("ORDERS_TABLE", "o-big")["reason"] == "PaymentDeclined"
    assert cloud.stock("sku-apple") == 10, "stock restored"
    assert cloud.item("RESERVATIONS_TABLE", "o-big")["status"] == "RELEASED"
    assert cloud.item("PAYMENTS_TABLE", "o-big") == {}, "nothing was charged"


def test_an_order_that_expired_meanwhile_is_never_confirmed(cloud: CheckoutCloud, registry):
    def charge_then_expire(real: Any, event: Any, call: int) -> Any:
        result = real(event)
        cloud.table("ORDERS_TABLE").update_item(
            Key={"order_id": event["order_id"]},
            UpdateExpression="SET #s = :expired",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":expired": "EXPIRED"},
        )
        return result

    wrap(registry, cloud, "charge-payment", charge_then_expire)
    execution = cloud.run(cloud.place_pending_order("o-late", {"sku-apple": 4}, 80))
    assert output(execution) == {"outcome": "CANCELLED", "reason": "OrderNotPending"}
    assert history(execution)[-4:] == [
        "confirm-order",
        "compensate-charge-payment",
        "compensate-reserve-inventory",
        "finalize",
    ]
    assert cloud.item("ORDERS_TABLE", "o-late")["status"] == "EXPIRED", "a final state never changes"
    assert cloud.stock("sku-apple") == 10
    assert cloud.item("PAYMENTS_TABLE", "o-late")["status"] == "REFUNDED"


def test_an_order_no_longer_pending_is_refused_at_reservation(cloud: CheckoutCloud):
    checkout_input = cloud.place_pending_order("o-gone", {"sku-apple": 1}, 10)
    cloud.table("ORDERS_TABLE").update_item(
        Key={"order_id": "o-gone"},
        UpdateExpression="SET #s = :expired",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":expired": "EXPIRED"},
    )
    execution = cloud.run(checkout_input)
    assert output(execution) == {"outcome": "CANCELLED", "reason": "OrderNotPending"}
    assert cloud.stock("sku-apple") == 10
    assert cloud.item("ORDERS_TABLE", "o-gone")["status"] == "EXPIRED"


def test_a_transient_error_is_retried_and_succeeds(cloud: CheckoutCloud, registry):
    def flaky(real: Any, event: Any, call: int) -> Any:
        if call == 1:
            raise InvocationError("TransientError", "dependency briefly unavailable", [])
        return real(event)

    calls = wrap(registry, cloud, "reserve-inventory", flaky)
    execution = cloud.run(cloud.place_pending_order("o-flaky", {"sku-pear": 2}, 30))
    assert output(execution) == {"outcome": "COMPLETED"}
    assert calls == [1, 2]
    assert cloud.stock("sku-pear") == 3


def test_a_business_error_is_never_retried(cloud: CheckoutCloud, registry):
    calls = wrap(registry, cloud, "charge-payment", lambda real, event, call: real(event))
    cloud.run(cloud.place_pending_order("o-declined", {"sku-pear": 1}, 5000))
    assert calls == [1]


def test_a_step_that_did_its_side_effect_and_then_failed_is_still_compensated(cloud: CheckoutCloud, registry):
    def charge_then_crash(real: Any, event: Any, call: int) -> Any:
        real(event)  # the payment is CHARGED ...
        raise InvocationError("GatewayTimeout", "the provider answered too late", [])  # ... and then it fails

    wrap(registry, cloud, "charge-payment", charge_then_crash)
    execution = cloud.run(cloud.place_pending_order("o-crash", {"sku-apple": 1}, 40))
    assert output(execution) == {"outcome": "CANCELLED", "reason": "GatewayTimeout"}
    assert cloud.item("PAYMENTS_TABLE", "o-crash")["status"] == "REFUNDED"
    assert cloud.stock("sku-apple") == 10


def test_a_compensation_that_keeps_failing_ends_in_compensation_failed(cloud: CheckoutCloud, registry):
    def broken(real: Any, event: Any, call: int) -> Any:
        raise InvocationError("TransientError", "inventory unreachable", [])

    calls = wrap(registry, cloud, "reserve-inventory-compensation", broken)
    execution = cloud.run(cloud.place_pending_order("o-stuck", {"sku-apple": 1}, 2000))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "CompensationFailed"
    assert len(calls) == 6  # the first try and 5 retries
    order = cloud.item("ORDERS_TABLE", "o-stuck")
    assert order["status"] == "PENDING", "nothing marks the order: a human looks at it"
    assert cloud.stock("sku-apple") == 9, "the stuck reservation is still held"


@pytest.mark.parametrize(
    "error", ["Sandbox.Timedout", "Lambda.ClientExecutionTimeoutException", "Runtime.ExitError", "ConnectionReset"]
)
def test_a_pivot_that_committed_and_then_failed_goes_forward_never_compensates(
    cloud: CheckoutCloud, registry, error: str
):
    def confirm_then_fail(real: Any, event: Any, call: int) -> Any:
        result = real(event)  # the order is CONFIRMED ...
        if call == 1:
            raise InvocationError(error, "the answer never came back", [])  # ... but the saga cannot know
        return result

    calls = wrap(registry, cloud, "confirm-order", confirm_then_fail)
    execution = cloud.run(cloud.place_pending_order("o-pivot", {"sku-apple": 2}, 60))
    assert output(execution) == {"outcome": "COMPLETED"}
    assert calls == [1, 2], "the idempotent pivot is retried"
    assert "compensate-charge-payment" not in history(execution)
    assert cloud.item("ORDERS_TABLE", "o-pivot")["status"] == "CONFIRMED"
    assert cloud.item("PAYMENTS_TABLE", "o-pivot")["status"] == "CHARGED"
    assert cloud.item("RESERVATIONS_TABLE", "o-pivot")["status"] == "RESERVED"
    assert cloud.stock("sku-apple") == 8


def test_a_pivot_that_keeps_failing_ends_in_pivot_failed_and_undoes_nothing(cloud: CheckoutCloud, registry):
    def broken(real: Any, event: Any, call: int) -> Any:
        raise InvocationError("Sandbox.Timedout", "Task timed out after 10.00 seconds", [])

    calls = wrap(registry, cloud, "confirm-order", broken)
    execution = cloud.run(cloud.place_pending_order("o-undecided", {"sku-apple": 1}, 20))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PivotFailed"
    assert len(calls) > 4, "the pivot has a longer retry budget than the other steps"
    assert not any(state.startswith("compensate-") for state in history(execution))
    assert cloud.item("PAYMENTS_TABLE", "o-undecided")["status"] == "CHARGED", "a human decides: nothing undone"


def test_a_compensation_never_undoes_a_confirmed_order(cloud: CheckoutCloud, registry):
    checkout_input = cloud.place_pending_order("o-done", {"sku-pear": 1}, 10)
    cloud.run(checkout_input)
    assert cloud.item("ORDERS_TABLE", "o-done")["status"] == "CONFIRMED"
    lam = boto3.client("lambda", region_name="us-east-1")
    for key in ("charge-payment-compensation", "reserve-inventory-compensation"):
        reply = lam.invoke(FunctionName=cloud.functions[key], Payload=json.dumps(checkout_input))
        assert json.loads(reply["Payload"].read())["errorType"] == "OrderAlreadyConfirmed", key
    assert cloud.item("PAYMENTS_TABLE", "o-done")["status"] == "CHARGED"
    assert cloud.item("RESERVATIONS_TABLE", "o-done")["status"] == "RESERVED"
    assert cloud.stock("sku-pear") == 4


def first_call_fails(monkeypatch: pytest.MonkeyPatch, matches: Any, error: Any) -> list[str]:
    """The first AWS call for which ``matches(params, operation)`` holds raises ``error(client, operation,
    params)`` (once: as AWS answers after the SDK's own retries gave up); returns the calls that failed."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    failed: list[str] = []

    def failing(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if not failed and matches(params, operation):
            failed.append(operation)
            raise error(client, operation, params)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", failing)
    return failed


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"])
def test_a_throttled_reservation_is_retried_not_cancelled(
    cloud: CheckoutCloud, registry, monkeypatch: pytest.MonkeyPatch, reason: str
):
    def cancelled(client: Any, operation: str, params: dict[str, Any]) -> Exception:
        codes = [{"Code": "None"}] * (len(params["TransactItems"]) - 1) + [{"Code": reason}]
        response = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": codes}
        return client.exceptions.TransactionCanceledException(response, operation)

    throttled = first_call_fails(monkeypatch, lambda params, operation: operation == "TransactWriteItems", cancelled)
    calls = wrap(registry, cloud, "reserve-inventory", lambda real, event, call: real(event))
    execution = cloud.run(cloud.place_pending_order(f"o-{reason}", {"sku-pear": 1}, 10))
    assert throttled == ["TransactWriteItems"]
    assert output(execution) == {"outcome": "COMPLETED"}
    assert calls == [1, 2], "retried as a TransientError"
    assert cloud.stock("sku-pear") == 4


@pytest.mark.parametrize("error", ["ConnectTimeoutError", "ReadTimeoutError", "EndpointConnectionError"])
def test_a_connection_failure_is_retried_not_cancelled(
    cloud: CheckoutCloud, registry, monkeypatch: pytest.MonkeyPatch, error: str
):
    import botocore.exceptions

    def unreachable(client: Any, operation: str, params: dict[str, Any]) -> Exception:
        return getattr(botocore.exceptions, error)(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    payments = cloud.tables["PAYMENTS_TABLE"]
    failed = first_call_fails(monkeypatch, lambda params, operation: params.get("TableName") == payments, unreachable)
    calls = wrap(registry, cloud, "charge-payment", lambda real, event, call: real(event))
    execution = cloud.run(cloud.place_pending_order(f"o-{error}", {"sku-pear": 1}, 10))
    assert failed == ["PutItem"]
    assert output(execution) == {"outcome": "COMPLETED"}
    assert calls == [1, 2]
