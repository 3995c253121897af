"""Lambda's timeout and payload limits in the local runtime: a handler past its timeout is stopped and reported
as AWS does, its writes stay, the next invocation is a cold start; oversized responses fail the invocation."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cloud_helpers import place
from moto import mock_aws

from localcloud.engine import LocalCloud
from localcloud.faults import AwsCallFaults
from localcloud.function_environment import installed
from localcloud.lambda_runtime import (
    MAX_SYNC_PAYLOAD_BYTES,
    InvocationError,
    LocalFunction,
    moto_runs_lambdas_in_process,
)
from localcloud.telemetry import HANDLER_STDOUT, CallRecorder, LogRouter, MetricStore

REGION = "us-east-1"

PROBE = """
import os, sys, threading, time
import boto3

STARTS = 0  # module state: a warm start keeps it, a cold start has it anew


def handler(event, context):
    global STARTS
    STARTS += 1
    sqs = boto3.client("sqs", region_name="us-east-1")
    others = [t.name for t in threading.enumerate() if t.name == threading.current_thread().name]
    if event.get("write"):
        sqs.send_message(QueueUrl=event["write"], MessageBody=os.environ["GREETING"])
    print(f"probe says {event.get('say', 'nothing')}")
    if event.get("spin"):
        while True:
            try:
                sum(range(1000))
            except Exception:  # a handler that swallows every error must still be stopped
                pass
    if event.get("stubborn"):
        try:
            while True:
                sum(range(1000))
        except BaseException:  # a handler that catches the stop, and goes on
            pass
        while True:
            sum(range(1000))
    if event.get("sleep"):
        time.sleep(event["sleep"])
        sqs.send_message(QueueUrl=event["write"], MessageBody="woke up")
    if event.get("size"):
        return "x" * event["size"]
    return {"starts": STARTS, "same_named_threads": len(others)}
"""


def probe(timeout_seconds: int = 1) -> LocalFunction:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("probe/__init__.py", "")
        zipped.writestr("probe/app.py", PROBE)
    return LocalFunction.from_archive(
        "probe",
        "arn:aws:lambda:us-east-1:123456789012:function:probe",
        "probe.app.handler",
        archive.getvalue(),
        environment={"GREETING": "hello from probe"},
        timeout_seconds=timeout_seconds,
    )


@pytest.fixture
def queue() -> Iterator[str]:
    with mock_aws(), installed():
        yield boto3.client("sqs", region_name=REGION).create_queue(QueueName="writes")["QueueUrl"]


def bodies(url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def handler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lambda-probe"]


def test_a_handler_past_its_timeout_is_stopped_with_awss_error_and_its_writes_stay(queue: str):
    function = probe(timeout_seconds=1)
    with pytest.raises(InvocationError) as caught:
        function.invoke({"write": queue, "spin": True})
    error = caught.value
    assert error.error_type == "Sandbox.Timedout"
    stamp, request_id, rest = error.error_message.split(" ", 2)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    assert rest == "Task timed out after 1.00 seconds"
    assert error.payload() == {"errorType": "Sandbox.Timedout", "errorMessage": error.error_message, "stackTrace": []}
    assert bodies(queue) == ["hello from probe"]  # the write before the timeout stays, with the function's variables
    for thread in handler_threads():
        thread.join(timeout=10)
    assert handler_threads() == []  # the spinning handler was stopped, not left running


def test_after_a_timeout_the_next_invocation_is_a_cold_start(queue: str):
    function = probe(timeout_seconds=1)
    assert function.invoke({})["starts"] == 1
    assert function.invoke({})["starts"] == 2  # warm
    with pytest.raises(InvocationError):
        function.invoke({"spin": True})
    assert function.invoke({})["starts"] == 1  # the execution environment was reset


def test_a_handler_blocked_in_a_c_call_stops_when_it_returns_and_the_next_invocation_waits_for_it(queue: str):
    function = probe(timeout_seconds=1)
    with pytest.raises(InvocationError) as caught:
        function.invoke({"write": queue, "sleep": 3})
    assert caught.value.error_type == "Sandbox.Timedout"
    after = function.invoke({})
    assert after["same_named_threads"] == 1  # the sleeping handler had ended before this one started
    assert bodies(queue) == ["hello from probe"]  # it never ran past its sleep


def test_a_handler_that_catches_the_stop_is_stopped_again_before_the_next_invocation(queue: str):
    function = probe(timeout_seconds=1)
    with pytest.raises(InvocationError) as caught:
        function.invoke({"stubborn": True})
    assert caught.value.error_type == "Sandbox.Timedout"
    assert function.invoke({})["same_named_threads"] == 1


def test_a_response_over_six_megabytes_fails_the_invocation(queue: str):
    function = probe(timeout_seconds=30)
    quotes = 2  # a string result serialises with its quotes
    assert len(function.invoke({"size": MAX_SYNC_PAYLOAD_BYTES - quotes})) == MAX_SYNC_PAYLOAD_BYTES - quotes
    with pytest.raises(InvocationError) as caught:
        function.invoke({"size": MAX_SYNC_PAYLOAD_BYTES - quotes + 1})
    assert caught.value.error_type == "Function.ResponseSizeTooLarge"
    assert caught.value.error_message == (
        "Response payload size exceeded maximum allowed payload size (6291456 bytes)."
    )


def test_the_handlers_thread_carries_its_log_routing_call_recording_and_throttling(queue: str):
    function = probe(timeout_seconds=5)
    router = LogRouter(io.StringIO(), MetricStore(lambda: None))  # type: ignore[arg-type,return-value]
    calls, faults = CallRecorder(), AwsCallFaults()
    with calls.installed(), faults.installed(), HANDLER_STDOUT.routing_to(router):
        function.invoke({"say": "hi", "write": queue}, stdout=HANDLER_STDOUT)
        real: Any = lambda event: function.invoke(event, stdout=HANDLER_STDOUT)  # noqa: E731
        with pytest.raises(InvocationError) as caught:
            faults.throttle(0)(real, {"write": queue})
    assert router.logs["probe"] == ["probe says hi"]  # the throttled invocation failed before it printed
    assert [(c.function, c.action) for c in calls.calls] == [("probe", "SendMessage")]
    assert caught.value.error_type == "RequestThrottled"
    assert faults.throttled == [("probe", "sqs", "SendMessage")]
    assert bodies(queue) == ["hello from probe"]


def test_a_handler_invoking_another_function_synchronously_does_not_deadlock():
    caller = """
import json, boto3
def handler(event, context):
    answer = boto3.client("lambda", region_name="us-east-1").invoke(FunctionName="callee", Payload=b'{"n": 2}')
    return {"callee said": json.loads(answer["Payload"].read())}
"""
    callee = """
def handler(event, context):
    if "n" not in event:
        raise KeyError("n")
    return event["n"] * 21
"""
    with mock_aws(), installed(), moto_runs_lambdas_in_process():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        for name, source in {"caller": caller, "callee": callee}.items():
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as zipped:
                zipped.writestr(f"{name}_code.py", source)
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler=f"{name}_code.handler",
                Code={"ZipFile": archive.getvalue()},
                Timeout=10,
            )
        answer = client.invoke(FunctionName="caller", Payload=b"{}")
        assert answer.get("FunctionError") is None
        assert answer["Payload"].read() == b'{"callee said": 42}'
        failed = client.invoke(FunctionName="callee", Payload=b"{}")
        assert failed["FunctionError"] == "Unhandled"  # a raised exception, as Lambda reports it
        assert json.loads(failed["Payload"].read())["errorType"] == "KeyError"


def test_a_timed_out_invocation_in_the_cloud_is_an_error_with_its_logs_and_the_stack_goes_on(cloud: LocalCloud):
    cloud.deployment.functions["probe"] = probe(timeout_seconds=1)
    cloud.lambda_logs.register("probe", None)
    warm = cloud.invoke("probe", {})
    first_stream = cloud.lambda_logs.stream("probe")
    timed_out = cloud.invoke("probe", {"spin": True, "say": "spinning"})
    assert timed_out.error is not None and timed_out.error.error_type == "Sandbox.Timedout"
    assert timed_out.error.error_message.endswith(f"{timed_out.request_id} Task timed out after 1.00 seconds")
    assert cloud.metrics.total("AWS/Lambda", "Errors", FunctionName="probe") == 1
    assert cloud.logs.logs["probe"] == ["probe says nothing", "probe says spinning"]
    assert cloud.lambda_logs.is_cold("probe")  # Lambda resets the execution environment after a timeout
    after = cloud.invoke("probe", {})
    assert (warm.result["starts"], after.result["starts"]) == (1, 1)
    assert cloud.lambda_logs.stream("probe") not in (None, first_stream)  # a new execution environment's stream
    assert place(cloud, "after-the-timeout")["order_id"]
