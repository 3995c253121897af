"""The timed emulators — Scheduler, async invokes — and Step Functions, against AWS semantics."""

from __future__ import annotations

from cloud_helpers import EXPIRE, function, invocations, messages, order, place

from localcloud.engine import LocalCloud

# Scheduler and async invokes ---------------------------------------------------------------------------------------


def test_schedules_fire_on_the_clock(cloud: LocalCloud):
    cloud.drain()
    assert invocations(cloud, EXPIRE) == []
    cloud.advance(minutes=5)
    cloud.drain()
    [run] = invocations(cloud, EXPIRE)
    assert run.source == "async"
    scheduled = run.event["scheduled_time"]
    assert scheduled.endswith("Z") and len(scheduled) == 20
    cloud.advance(minutes=15)
    cloud.drain()
    times = [i.event["scheduled_time"] for i in invocations(cloud, EXPIRE)]
    assert len(times) == 4 and len(set(times)) == 4


def test_async_retries_then_the_on_failure_destination(cloud: LocalCloud):
    cloud.fail_next(EXPIRE, "Boom", times=3)
    cloud.advance(minutes=5)
    cloud.drain()
    assert len(invocations(cloud, EXPIRE)) == 3  # the first try and 2 retries
    dlq = cloud.deployment.queue_urls["arn:aws:sqs:us-east-1:123456789012:expire-orders-dlq"]
    [record] = messages(cloud, dlq)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["scheduled_time"] == invocations(cloud, EXPIRE)[0].event["scheduled_time"]
    assert record["responsePayload"]["errorType"] == "Boom"
    at = [i.at for i in invocations(cloud, EXPIRE)]
    assert (at[1] - at[0]).total_seconds() >= 60 and (at[2] - at[1]).total_seconds() >= 120


# Step Functions -----------------------------------------------------------------------------------------------------


def test_step_functions_retry_a_transient_error_and_catch_a_business_error(cloud: LocalCloud):
    reserve = function("checkout-reserve-inventory")
    cloud.fail_next(reserve, "TransientError")
    confirmed = place(cloud, "retry-me")
    cloud.drain()
    declined = place(cloud, "too-big", total=5000)
    cloud.drain()
    assert order(cloud, confirmed["order_id"])["status"] == "CONFIRMED"
    cancelled = order(cloud, declined["order_id"])
    assert (cancelled["status"], cancelled["reason"]) == ("CANCELLED", "PaymentDeclined")
    tries = [
        i for i in cloud.stats.invocations if i.function == reserve and i.event["order_id"] == confirmed["order_id"]
    ]
    assert [bool(i.error) for i in tries] == [True, False]
