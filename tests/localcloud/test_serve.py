"""``python -m localcloud serve`` as a user runs it: a real process on a free port, real boto3 clients, the clock
CLI, and every way it can fail to start or be stopped — each with a bounded wait, so a hang fails the test."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from serve_process import ROOT, LocalcloudProcess, free_port, run_localcloud


def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")


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


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_stack_deploys_stops_it(signum: signal.Signals):
    with LocalcloudProcess("serve", "--port", "0") as serve:
        serve.wait_for_line("deploying stack dev")
        serve.process.send_signal(signum)
        assert serve.finish() == 0
    assert f"localcloud: stopped by {signum.name} before the stack was served" in serve.stdout
    assert not any("listening on" in line for line in serve.stdout)
    assert serve.stderr == []


def test_a_virtual_clock_advanced_from_the_cli_takes_a_poison_message_to_its_dlq(tmp_path: Path):
    outputs_file = tmp_path / "outputs.json"
    with LocalcloudProcess("serve", "--port", "0", "--clock", "virtual", "--outputs", str(outputs_file)) as serve:
        ready = serve.wait_for_line("listening on")
        assert "clock: virtual" in ready
        endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", ready).group(1)  # type: ignore[union-attr]
        outputs = json.loads(outputs_file.read_text())
        sqs, sns = session().client("sqs", endpoint_url=endpoint), session().client("sns", endpoint_url=endpoint)
        dlq = outputs["subscriber_dlq_urls"]["fulfilment"]
        queue = dlq.removesuffix("-dlq")
        code, before, _ = run_localcloud("clock", "--endpoint", endpoint)
        assert code == 0 and before[0].startswith("local clock: ") and before[0].endswith("(virtual)")
        sns.publish(
            TopicArn=outputs["order_events_topic_arn"],
            Message='{"event_type": "OrderPlaced", "order_id": "poison"}',  # schema-invalid
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}},
        )

        def in_flight() -> bool:
            attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
            return attributes["ApproximateNumberOfMessagesNotVisible"] == "1"

        until(in_flight)  # received once, failed, invisible until local time moves
        time.sleep(1)  # wall time passes; local time does not
        assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages") is None
        code, advanced, stderr = run_localcloud("clock", "--endpoint", endpoint, "advance", "16m")
        assert code == 0, stderr
        assert re.fullmatch(r"local clock: \S+ \(virtual\), advanced 960 s, \d+ invocations meanwhile", advanced[0])
        dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)["Messages"]
        assert [json.loads(m["Body"]) for m in dead] == [{"event_type": "OrderPlaced", "order_id": "poison"}]
        assert serve.stop() == 0


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
