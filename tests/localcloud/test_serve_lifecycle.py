"""``python -m localcloud serve`` starting, stopping and keeping state: ports, signals at any moment, ``--state`` and
``--reload`` — each through a real process with a bounded wait, so a hang fails the test."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from serve_process import (
    ROOT,
    LocalcloudProcess,
    Served,
    endpoint_of,
    placed_order,
    run_localcloud,
    session,
    until,
)


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


def test_state_dir_keeps_the_orders_across_a_restart_and_refuses_another_stack(tmp_path: Path):
    state, outputs_file = tmp_path / "state", tmp_path / "outputs.json"
    args = ("serve", "--port", "0", "--state", str(state), "--outputs", str(outputs_file))
    with LocalcloudProcess(*args) as first:
        ready = first.wait_for_line("listening on")
        assert f"state: new, saved to {state} every 30 s and when serve stops" in ready
        endpoint = endpoint_of(ready)
        served = Served(first, endpoint, json.loads(outputs_file.read_text()))
        _, _ = placed_order(served, "keeps")
        orders = served.client("dynamodb").scan(TableName=served.outputs["orders_table"])["Items"]
        assert [o["customer_id"]["S"] for o in orders] == ["keeps"]
        assert first.stop(signal.SIGINT) == 0
    assert f"localcloud: state saved to {state}" in first.stdout
    with LocalcloudProcess(*args) as second:
        ready = second.wait_for_line("listening on")
        assert f"state: restored from {state}" in ready
        endpoint = endpoint_of(ready)
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
        endpoint = endpoint_of(ready)
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
        endpoint = endpoint_of(ready)
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
