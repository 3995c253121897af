"""The command line: one summary line, exit 0/1 by outcome, and one ``error:`` line with exit 2 when it cannot run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from redrive_fixtures import Aws

from serverless_patterns import redrive
from serverless_patterns.redrive import RedriveError, build_clients, main

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:9"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "required: {dlq,stream}"),
        (["purge"], "invalid choice: 'purge'"),
        (["dlq"], "required: --queue-url"),
        (["stream", "--queue-url", "x"], "required: --failure-queue-url"),
        (["dlq", "--queue-url", "x", "--limit", "0"], "--limit: must be a positive whole number, got '0'"),
        (["dlq", "--queue-url", "x", "--limit", "lots"], "--limit: must be a positive whole number, got 'lots'"),
        (["dlq", "--queue-url", "x", "--endpoint-url", "not a url"], "--endpoint-url: Invalid endpoint"),
    ],
)
def test_bad_arguments_exit_2_with_one_error_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]):
    assert main(argv) == 2
    assert expected in one_error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq", "--queue-url", f"{UNREACHABLE}/123456789012/orders-dlq"],
        ["stream", "--failure-queue-url", f"{UNREACHABLE}/123456789012/failures"],
    ],
)
def test_an_unreachable_endpoint_exits_2_with_one_error_line(argv: list[str], capsys: pytest.CaptureFixture[str]):
    assert main([*argv, "--endpoint-url", UNREACHABLE, "--region", "us-east-1"]) == 2
    assert "Could not connect to the endpoint URL" in one_error_line(capsys)


def test_the_module_runs_as_a_command_and_fails_without_a_traceback():
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "serverless_patterns.redrive",
            "dlq",
            "--queue-url",
            f"{UNREACHABLE}/1/q",
            "--endpoint-url",
            UNREACHABLE,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stderr.startswith("error: ") and len(ran.stderr.splitlines()) == 1, ran.stderr


def test_missing_credentials_for_aws_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["dlq", "--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq"]) == 2
    assert "Unable to locate credentials" in one_error_line(capsys)


def test_a_queue_that_does_not_exist_exits_2(aws: Aws, capsys: pytest.CaptureFixture[str]):
    assert main(["dlq", "--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/nope"]) == 2
    assert "does not exist" in one_error_line(capsys)


def test_an_ambiguous_dlq_exits_2(aws: Aws, capsys: pytest.CaptureFixture[str]):
    dlq = aws.queue("orphan-dlq")
    assert main(["dlq", "--queue-url", dlq]) == 2
    assert "no queue uses" in one_error_line(capsys)


def test_clients_go_to_the_endpoint_given_with_dummy_credentials_when_none_are_set(monkeypatch: pytest.MonkeyPatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    clients = build_clients(None, "http://127.0.0.1:4566")

    assert set(clients) == {"sqs", "dynamodbstreams", "lambda"}
    for client in clients.values():
        assert client.meta.endpoint_url == "http://127.0.0.1:4566"
        assert client.meta.region_name == "us-east-1"
        assert client._request_signer._credentials.access_key == "testing"
    with pytest.raises(RedriveError, match="no AWS region"):
        build_clients(None, None)


def test_clients_keep_the_credentials_and_region_configured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCONFIGURED")
    clients = build_clients("eu-west-1", "http://127.0.0.1:4566")
    assert clients["sqs"]._request_signer._credentials.access_key == "AKIDCONFIGURED"
    assert clients["lambda"].meta.region_name == "eu-west-1"
    assert build_clients("eu-west-1", None)["sqs"].meta.endpoint_url == "https://sqs.eu-west-1.amazonaws.com"


def test_a_complete_dlq_redrive_prints_one_line_and_exits_0(aws: Aws, capsys: pytest.CaptureFixture[str]):
    dlq = aws.queue("orders-dlq")
    source = aws.source("orders", dlq)
    for body in ("a", "b"):
        aws.sqs.send_message(QueueUrl=dlq, MessageBody=body)

    assert main(["dlq", "--queue-url", dlq, "--region", "us-east-1"]) == 0

    captured = capsys.readouterr()
    assert captured.out == f"dlq: moved 2 message(s) from {dlq} to {source}; 0 failed\n"
    assert captured.err == ""
    assert sorted(aws.bodies(source)) == ["a", "b"]


def test_the_real_long_poll_ends_on_an_empty_queue(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(redrive, "RECEIVE_WAIT_SECONDS", 1)
    dlq = aws.queue("orders-dlq")
    aws.source("orders", dlq)
    aws.sqs.send_message(QueueUrl=dlq, MessageBody="a")
    assert main(["dlq", "--queue-url", dlq, "--limit", "5"]) == 0


def test_a_replay_that_leaves_messages_exits_1_and_says_why(aws: Aws, capsys: pytest.CaptureFixture[str]):
    function_arn = aws.function("projection")
    url = aws.queue("failures")
    parked = {"version": "1.0", "condition": "MalformedRecord", "functionArn": function_arn, "records": [{"x": 1}]}
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(parked))
    aws.sqs.send_message(QueueUrl=url, MessageBody="hello")

    assert main(["stream", "--failure-queue-url", url]) == 1

    captured = capsys.readouterr()
    assert captured.out == (
        f"stream: replayed 1 failure record(s) from {url}; 0 failed, 0 no longer in the stream, 1 unrecognised\n"
    )
    assert captured.err.count("\n") == 1 and captured.err.startswith("left: ") and "unrecognised" in captured.err
    assert aws.bodies(url) == ["hello"]
