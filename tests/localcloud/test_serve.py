"""``python -m localcloud serve``: real boto3 clients on loopback, a command flowing to CONFIRMED, a clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_boto3_runs_an_order_to_confirmed_and_stops_on_sigterm(tmp_path: Path):
    port, outputs_file = free_port(), tmp_path / "outputs.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "serve", "--port", str(port), "--outputs", str(outputs_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline() if process.stdout else ""
        assert f"listening on http://127.0.0.1:{port}" in ready, process.stderr.read() if process.stderr else ""
        outputs = json.loads(outputs_file.read_text())
        assert set(outputs) >= {
            "place_order_function",
            "orders_table",
            "checkout_state_machine_arn",
            "subscriber_dlq_urls",
            "alarm_topic_arn",
        }
        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
        endpoint = f"http://127.0.0.1:{port}"
        lam = session.client("lambda", endpoint_url=endpoint)
        response = lam.invoke(
            FunctionName=outputs["place_order_function"],
            Payload=json.dumps({"customer_id": "remote", "items": [{"sku": "sku-apple", "qty": 1}], "total": 9.5}),
        )
        placed = json.loads(response["Payload"].read())
        assert placed["ok"] is True
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        status, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline:
            item = dynamodb.get_item(TableName=outputs["orders_table"], Key={"order_id": {"S": placed["order_id"]}})
            status = item["Item"]["status"]["S"]
            if status == "CONFIRMED":
                break
            time.sleep(0.2)
        assert status == "CONFIRMED"
        invoice = dynamodb.get_item(TableName=outputs["invoices_table"], Key={"order_id": {"S": placed["order_id"]}})
        deadline = time.monotonic() + 30
        while "Item" not in invoice and time.monotonic() < deadline:
            time.sleep(0.2)
            invoice = dynamodb.get_item(
                TableName=outputs["invoices_table"], Key={"order_id": {"S": placed["order_id"]}}
            )
        assert invoice["Item"]["customer_id"] == {"S": "remote"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0
    assert "localcloud: stopped" in (process.stdout.read() if process.stdout else "")
