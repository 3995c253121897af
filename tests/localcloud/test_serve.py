"""``python -m localcloud serve`` as a user runs it: a real process on a free port, real boto3 clients, the clock
CLI, and every way it can fail to start or be stopped — each with a bounded wait, so a hang fails the test."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from serve_process import ROOT, LocalcloudProcess, free_port, run_localcloud

from localcloud.public_aws import public_parameter
from serverless_patterns.internals.runtime import ARCHITECTURE, LAMBDA_RUNTIME, powertools_layer_parameter


def session(region: str = "us-east-1") -> boto3.Session:
    return boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)


def declared_outputs() -> set[str]:
    """The names the program exports, read from the program itself."""
    return set(re.findall(r'pulumi\.export\("([^"]+)"', (ROOT / "__main__.py").read_text()))


def until(probe: Any, timeout: float = 60) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.2)
    raise AssertionError(f"nothing within {timeout} s from {probe}")


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


def test_a_port_in_use_fails_at_once_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stdout, stderr = run_localcloud("serve", "--port", str(port), timeout=30)
    assert code == 2
    assert stderr == [
        f"error: port {port} on 127.0.0.1 is in use (another serve, LocalStack?): stop it or choose --port"
    ]
    assert not any("deploying" in line for line in stdout)  # it fails before deploying anything


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_out_of_range_is_refused_in_one_line(port: str):
    code, _, stderr = run_localcloud("serve", "--port", port, timeout=30)
    assert code == 2
    assert stderr == [
        f"python -m localcloud serve: error: argument --port: {port!r} is not a port: "
        "use 1-65535, or 0 for a free port (see --help)"
    ]


def test_port_zero_listens_on_a_free_port_and_says_which_and_sigint_stops_it():
    with LocalcloudProcess("serve", "--port", "0") as serve:
        ready = serve.wait_for_line("listening on")
        match = re.search(r"http://127\.0\.0\.1:(\d+) ", ready)
        assert match, ready
        port = int(match.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localcloud/health", timeout=10) as response:
            health = json.loads(response.read())
        assert health["ready"] is True and health["stack"] == "dev"
        assert session().client("sqs", endpoint_url=f"http://127.0.0.1:{port}").list_queues()["QueueUrls"]
        assert serve.stop(signal.SIGINT) == 0
    assert "localcloud: stopped" in serve.stdout


@pytest.mark.parametrize(
    ("signum", "delay"),
    [(signal.SIGINT, 0.0), (signal.SIGTERM, 0.6), (signal.SIGINT, 1.2), (signal.SIGTERM, 1.8), (signal.SIGINT, 2.4)],
)
def test_a_signal_while_the_stack_deploys_stops_it_at_once(signum: signal.Signals, delay: float):
    with LocalcloudProcess("serve", "--port", "0") as serve:
        serve.wait_for_line("deploying stack dev")
        time.sleep(delay)  # anywhere in the deploy: Pulumi's event loop must not swallow the stop
        serve.process.send_signal(signum)
        code = serve.finish(timeout=20)
    if any("listening on" in line for line in serve.stdout):  # the deploy had finished: a clean stop
        assert code == 0 and serve.stdout[-1] == "localcloud: stopped"
    else:
        assert code == 128 + signum
        assert serve.stdout[-1] == f"localcloud: stopped by {signum.name} before the stack was served"
    assert serve.stderr == []


@dataclass
class Served:
    process: LocalcloudProcess
    endpoint: str
    outputs: dict[str, Any]
    region: str = "us-east-1"

    def client(self, service: str) -> Any:
        return session(self.region).client(service, endpoint_url=self.endpoint)


@pytest.fixture(scope="module")
def virtual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One serve on a virtual clock, echoing the handlers' logs, shared by the tests below."""
    outputs_file = tmp_path_factory.mktemp("serve") / "outputs.json"
    args = ("serve", "--port", "0", "--clock", "virtual", "--logs", "--outputs", str(outputs_file))
    with LocalcloudProcess(*args) as process:
        ready = process.wait_for_line("listening on")
        assert "clock: virtual" in ready
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
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
def test_the_aws_cli_lists_the_alarm_in_alarm_and_its_metric(virtual: Served):
    until(
        lambda: (
            DLQ_ALARM
            in {
                a["AlarmName"] for a in virtual.client("cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]
            }
        )
    )
    alarms = aws_cli(virtual, "cloudwatch", "describe-alarms", "--state-value", "ALARM")["MetricAlarms"]
    assert DLQ_ALARM in {a["AlarmName"] for a in alarms}
    metrics = aws_cli(virtual, "cloudwatch", "list-metrics", "--namespace", "AWS/SQS")["Metrics"]
    assert {"Name": "QueueName", "Value": "order-events-fulfilment-dlq"} in [
        d for m in metrics if m["MetricName"] == "ApproximateNumberOfMessagesVisible" for d in m["Dimensions"]
    ]


def placed_order(virtual: Served, customer: str) -> tuple[str, str]:
    """Place an order through Lambda's API; the function's name and the request id Lambda answered with."""
    reply = virtual.client("lambda").invoke(
        FunctionName=virtual.outputs["place_order_function"],
        Payload=json.dumps({"customer_id": customer, "items": [{"sku": "sku-pear", "qty": 1}], "total": 3}),
    )
    assert json.loads(reply["Payload"].read())["ok"] is True
    return virtual.outputs["place_order_function"], reply["ResponseMetadata"]["RequestId"]


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


def test_state_dir_keeps_the_orders_across_a_restart_and_refuses_another_stack(tmp_path: Path):
    state, outputs_file = tmp_path / "state", tmp_path / "outputs.json"
    args = ("serve", "--port", "0", "--state", str(state), "--outputs", str(outputs_file))
    with LocalcloudProcess(*args) as first:
        ready = first.wait_for_line("listening on")
        assert f"state: new, saved to {state} every 30 s and when serve stops" in ready
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
        served = Served(first, endpoint, json.loads(outputs_file.read_text()))
        _, _ = placed_order(served, "keeps")
        orders = served.client("dynamodb").scan(TableName=served.outputs["orders_table"])["Items"]
        assert [o["customer_id"]["S"] for o in orders] == ["keeps"]
        assert first.stop(signal.SIGINT) == 0
    assert f"localcloud: state saved to {state}" in first.stdout
    with LocalcloudProcess(*args) as second:
        ready = second.wait_for_line("listening on")
        assert f"state: restored from {state}" in ready
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
        again = Served(second, endpoint, json.loads(outputs_file.read_text()))
        kept = again.client("dynamodb").scan(TableName=again.outputs["orders_table"])["Items"]
        assert [(o["order_id"], o["customer_id"]) for o in kept] == [(o["order_id"], o["customer_id"]) for o in orders]
        assert second.stop() == 0
    code, _, stderr = run_localcloud("serve", "--port", "0", "--stack", "prod", "--state", str(state))
    assert code == 2
    assert len(stderr) == 1 and stderr[0].startswith("error: ") and "delete it" in stderr[0], stderr


def test_reload_serves_a_handler_edited_on_disk(tmp_path: Path):
    project = tmp_path / "shop"
    shutil.copytree(ROOT / "tests" / "harness" / "projects" / "shop", project)
    outputs_file = tmp_path / "outputs.json"
    args = ("serve", "--project", str(project), "--stack", "test", "--port", "0", "--reload")
    with LocalcloudProcess(*args, "--logs", "--outputs", str(outputs_file)) as process:
        ready = process.wait_for_line("listening on")
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
        served = Served(process, endpoint, json.loads(outputs_file.read_text()), region="eu-central-1")
        consumer = "harness-shop-test-orders-audit-consumer"

        def audited(order_id: str) -> list[str]:
            served.client("sns").publish(
                TopicArn=served.outputs["topic_arn"], Message=json.dumps({"order_id": order_id})
            )
            lines = until(lambda: process.lines_with(f'"order_id": "{order_id}"') or process.lines_with(order_id))
            return [
                json.loads(line.split("] ", 1)[1])["message"] for line in lines if line.startswith(f"[{consumer}] {{")
            ]

        assert audited("o-before") == ["audited"]
        app = project / "handlers" / "audit" / "app.py"
        app.write_text(app.read_text().replace('logger.info("audited"', 'logger.info("audited by the new code"'))
        process.wait_for_line(f"localcloud: reloaded {consumer}")
        assert audited("o-after") == ["audited by the new code"]
        assert process.stop() == 0


def test_a_signal_during_a_long_clock_advance_stops_serve_and_saves_where_the_clock_stopped(tmp_path: Path):
    state = tmp_path / "state"
    with LocalcloudProcess("serve", "--port", "0", "--clock", "virtual", "--state", str(state)) as serve:
        ready = serve.wait_for_line("listening on")
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
        started = run_localcloud("clock", "--endpoint", endpoint)[1]
        with LocalcloudProcess("clock", "--endpoint", endpoint, "advance", "300d") as advance:
            until(lambda: run_localcloud("clock", "--endpoint", endpoint)[1] != started)  # the advance is under way
            assert advance.process.poll() is None  # 300 days fire the 5-minute schedule 86,400 times
            assert serve.stop(signal.SIGTERM) == 0
            assert advance.finish() != 0
        assert advance.stderr[-1].startswith("error: "), advance.stderr
    assert serve.stdout[-2:] == [f"localcloud: state saved to {state}", "localcloud: stopped"]


@pytest.mark.parametrize("problem", ["unwritable", "another stack"])
def test_a_state_directory_that_cannot_serve_is_refused_before_deploying(problem: str, tmp_path: Path):
    if problem == "unwritable":
        (tmp_path / "file").write_text("")
        state, expected = (
            tmp_path / "file" / "state",
            f"error: cannot write the state to {tmp_path / 'file' / 'state'}: ",
        )
    else:
        state = tmp_path / "state"
        with LocalcloudProcess("serve", "--port", "0", "--stack", "prod", "--state", str(state)) as prod:
            prod.wait_for_line("listening on")
            assert prod.stop() == 0
        expected = f"error: {state} holds the state of stack prod of project serverless-orders, not dev of "
    code, stdout, stderr = run_localcloud("serve", "--port", "0", "--state", str(state), timeout=30)
    assert code == 2
    assert len(stderr) == 1 and stderr[0].startswith(expected), stderr
    assert stdout == []  # refused before deploying anything
