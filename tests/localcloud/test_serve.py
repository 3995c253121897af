"""``python -m localcloud serve`` as a user drives it: a real process on a free port, real boto3 clients and the AWS
CLI (where installed), the clock CLI, logs, alarms, metrics and Lambda's answers — each with a bounded wait."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from serve_process import (
    LocalcloudProcess,
    Served,
    declared_outputs,
    endpoint_of,
    free_port,
    placed_order,
    run_localcloud,
    session,
    until,
)

from localcloud.public_aws import public_parameter
from serverless_patterns.internals.runtime import ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer_parameter


def test_serve_answers_boto3_runs_an_order_to_confirmed_and_stops_on_sigterm(tmp_path: Path):
    port, outputs_file = free_port(), tmp_path / "outputs.json"
    with LocalcloudProcess("serve", "--port", str(port), "--outputs", str(outputs_file)) as serve:
        ready = serve.wait_for_line("listening on")
        assert f"listening on http://127.0.0.1:{port}" in ready
        assert "clock: wall" in ready and "state: in memory" in ready
        outputs = json.loads(outputs_file.read_text())
        assert set(outputs) == declared_outputs()
        endpoint = f"http://127.0.0.1:{port}"
        lam = session().client("lambda", endpoint_url=endpoint)
        response = lam.invoke(
            FunctionName=outputs["place_order_function"],
            Payload=json.dumps({"customer_id": "remote", "items": [{"sku": "sku-apple", "qty": 1}], "total": 9.5}),
        )
        placed = json.loads(response["Payload"].read())
        assert placed["ok"] is True
        dynamodb = session().client("dynamodb", endpoint_url=endpoint)

        def status() -> str | None:
            item = dynamodb.get_item(TableName=outputs["orders_table"], Key={"order_id": {"S": placed["order_id"]}})
            return "CONFIRMED" if item["Item"]["status"]["S"] == "CONFIRMED" else None

        until(status)
        invoice = until(
            lambda: dynamodb.get_item(
                TableName=outputs["invoices_table"], Key={"order_id": {"S": placed["order_id"]}}
            ).get("Item")
        )
        assert invoice["customer_id"] == {"S": "remote"}
        assert serve.stop(signal.SIGTERM) == 0
    assert "localcloud: stopped" in serve.stdout
    assert serve.stderr == []


@pytest.fixture(scope="module")
def virtual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One serve on a virtual clock, echoing the handlers' logs, shared by the tests below."""
    outputs_file = tmp_path_factory.mktemp("serve") / "outputs.json"
    args = ("serve", "--port", "0", "--clock", "virtual", "--logs", "--outputs", str(outputs_file))
    with LocalcloudProcess(*args) as process:
        ready = process.wait_for_line("listening on")
        assert "clock: virtual" in ready
        endpoint = endpoint_of(ready)
        yield Served(process, endpoint, json.loads(outputs_file.read_text()))
        assert process.stop() == 0


def aws_cli(served: Served, *args: str) -> Any:
    """The AWS CLI against serve, its JSON answer parsed (the caller skips when the CLI is not installed)."""
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    environment |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    answer = subprocess.run(
        ["aws", "--endpoint-url", served.endpoint, "--output", "json", *args],
        env=environment,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout or "null")


needs_aws_cli = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
DLQ_ALARM = "order-events-fulfilment-dlq-depth"


def test_a_virtual_clock_advanced_from_the_cli_takes_a_poison_message_to_its_dlq_and_alarms(virtual: Served):
    sqs, sns = virtual.client("sqs"), virtual.client("sns")
    dlq = virtual.outputs["subscriber_dlq_urls"]["fulfilment"]
    queue = dlq.removesuffix("-dlq")
    code, before, _ = run_localcloud("clock", "--endpoint", virtual.endpoint)
    assert code == 0 and before[0].startswith("local clock: ") and before[0].endswith("(virtual)")
    sns.publish(
        TopicArn=virtual.outputs["order_events_topic_arn"],
        Message='{"event_type": "OrderPlaced", "order_id": "poison"}',  # schema-invalid
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}},
    )

    def in_flight() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        return attributes["ApproximateNumberOfMessagesNotVisible"] == "1"

    until(in_flight)  # received once, failed, invisible until local time moves
    time.sleep(1)  # wall time passes; local time does not
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages") is None
    cloudwatch = virtual.client("cloudwatch")
    assert DLQ_ALARM not in {a["AlarmName"] for a in cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]}
    code, advanced, stderr = run_localcloud("clock", "--endpoint", virtual.endpoint, "advance", "16m")
    assert code == 0, stderr
    assert re.fullmatch(r"local clock: \S+ \(virtual\), advanced 960 s, \d+ invocations meanwhile", advanced[0])
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0, VisibilityTimeout=0)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [{"event_type": "OrderPlaced", "order_id": "poison"}]
    alarming = until(
        lambda: [
            a for a in cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"] if a["AlarmName"] == DLQ_ALARM
        ]
    )
    assert alarming[0]["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints")


@needs_aws_cli
def alarming(virtual: Served) -> set[str]:
    return {a["AlarmName"] for a in virtual.client("cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]}


def test_the_aws_cli_lists_the_alarm_in_alarm_and_its_metric(virtual: Served):
    if DLQ_ALARM not in alarming(virtual):  # run alone: dead-letter a poison message first
        virtual.client("sns").publish(
            TopicArn=virtual.outputs["order_events_topic_arn"],
            Message='{"event_type": "OrderPlaced", "order_id": "poison-for-the-cli"}',
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}},
        )
        assert run_localcloud("clock", "--endpoint", virtual.endpoint, "advance", "16m")[0] == 0
    until(lambda: DLQ_ALARM in alarming(virtual))
    alarms = aws_cli(virtual, "cloudwatch", "describe-alarms", "--state-value", "ALARM")["MetricAlarms"]
    assert DLQ_ALARM in {a["AlarmName"] for a in alarms}
    metrics = aws_cli(virtual, "cloudwatch", "list-metrics", "--namespace", "AWS/SQS")["Metrics"]
    assert {"Name": "QueueName", "Value": "order-events-fulfilment-dlq"} in [
        d for m in metrics if m["MetricName"] == "ApproximateNumberOfMessagesVisible" for d in m["Dimensions"]
    ]


def test_handler_logs_reach_cloudwatch_logs_and_the_console(virtual: Served):
    function, _ = placed_order(virtual, "log-reader")
    logs = virtual.client("logs")
    group = f"/aws/lambda/{function}"
    events = until(lambda: logs.filter_log_events(logGroupName=group, filterPattern="REPORT")["events"])
    report = events[-1]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", report["logStreamName"])
    assert re.match(
        r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB", report["message"]
    )
    request_id = report["message"].split()[2]
    stream = logs.get_log_events(logGroupName=group, logStreamName=report["logStreamName"])["events"]
    messages = [e["message"] for e in stream]
    start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
    end = messages.index(f"END RequestId: {request_id}")
    handler_lines = messages[start + 1 : end]
    assert any('"message":"order placed"' in line for line in handler_lines), handler_lines  # the handler's own
    assert virtual.process.lines_with(f"[{function}] START RequestId: {request_id}")


@needs_aws_cli
def test_the_aws_cli_filters_the_handler_logs(virtual: Served):
    function, _ = placed_order(virtual, "cli-reader")
    found = aws_cli(
        virtual, "logs", "filter-log-events", "--log-group-name", f"/aws/lambda/{function}", "--filter-pattern", "START"
    )
    messages = [e["message"] for e in found["events"]]
    assert all("START" in m for m in messages)
    assert any(m.startswith("START RequestId: ") for m in messages), messages


def test_the_clock_command_without_a_local_cloud_says_so_in_one_line():
    port = free_port()
    code, _, stderr = run_localcloud("clock", "--endpoint", f"http://127.0.0.1:{port}", "advance", "15m", timeout=30)
    assert code == 2
    assert len(stderr) == 1
    assert stderr[0].startswith(f"error: no local cloud answers at http://127.0.0.1:{port} (")
    assert stderr[0].endswith("start one with: python3 -m localcloud serve")


@pytest.mark.parametrize("duration", ["15 minutes", "1h-5m", ""])
def test_the_clock_command_refuses_a_duration_it_cannot_read(duration: str):
    code, _, stderr = run_localcloud("clock", "advance", duration, timeout=30)
    assert code == 2
    assert stderr == [
        f"python -m localcloud clock advance: error: argument duration: {duration!r} is not a duration: "
        "use e.g. 90s, 15m, 2h, 1d or 1h30m (see --help)"
    ]


def consumer(virtual: Served) -> str:
    names = [f["FunctionName"] for f in virtual.client("lambda").list_functions()["Functions"]]
    return next(name for name in names if name.endswith("order-events-fulfilment-consumer"))


def test_lambda_answers_as_aws_does_through_serve(virtual: Served):
    lam, function = virtual.client("lambda"), consumer(virtual)
    raised = lam.invoke(FunctionName=function, Payload=b"{}")  # not an SQS batch: the handler raises
    assert raised["StatusCode"] == 200 and raised["FunctionError"] == "Unhandled"
    assert json.loads(raised["Payload"].read())["errorType"] == "UnexpectedBatchTypeError"
    queued = lam.invoke(FunctionName=function, Payload=b"{}", InvocationType="Event")
    assert (queued["StatusCode"], queued["Payload"].read()) == (202, b"")
    assert lam.invoke(FunctionName=function, Payload=b"{}", InvocationType="DryRun")["StatusCode"] == 204
    for payload, status, code in (
        (b"not json", 400, "InvalidRequestContentException"),
        (b'"' + b"x" * (7 * 1024 * 1024) + b'"', 413, "RequestEntityTooLargeException"),
    ):
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName=function, Payload=payload)
        assert refused.value.response["Error"]["Code"] == code
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_functions_are_reported_as_the_program_declares_them(virtual: Served):
    configuration = virtual.client("lambda").get_function_configuration(FunctionName=consumer(virtual))
    assert configuration["Runtime"] == LAMBDA_RUNTIME
    assert configuration["Architectures"] == [ARCHITECTURE]
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    assert [layer["Arn"] for layer in configuration["Layers"]] == [
        public_parameter(powertools_layer_parameter(LAMBDA_RUNTIME, ARCHITECTURE), "us-east-1")["value"]
    ]
    assert configuration["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{configuration['FunctionName']}"
