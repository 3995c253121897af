"""Each invocation's lines in CloudWatch Logs, as Lambda writes them: read back with boto3's Logs API."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

import pytest
from cloud_helpers import place

from localcloud import lambda_runtime
from localcloud.engine import LocalCloud
from localcloud.lambda_runtime import LocalContext

pytestmark = pytest.mark.xdist_group("cloudwatch-logs")

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: (?P<memory>\d+) MB\tMax Memory Used: \d+ MB\t(?P<init>Init Duration: \d+\.\d{2} ms\t)?$"
)


@pytest.fixture(scope="module")
def served() -> Iterator[LocalCloud]:
    with LocalCloud.started("dev") as cloud:
        yield cloud


def _stream_events(cloud: LocalCloud, group: str, stream: str) -> list[str]:
    events = cloud.client("logs").get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [e["message"] for e in events["events"]]


def test_an_invocation_logs_to_the_declared_group_with_lambdas_platform_lines(
    served: LocalCloud, monkeypatch: pytest.MonkeyPatch
):
    function = served.outputs["place_order_function"]
    group = served.lambda_logs.group(function)
    assert group == served.deployment.log_groups[function], "the group the function's logging config names"
    contexts: list[LocalContext] = []

    @dataclasses.dataclass
    class RecordedContext(LocalContext):
        def __post_init__(self) -> None:
            contexts.append(self)

    monkeypatch.setattr(lambda_runtime, "LocalContext", RecordedContext)
    first = served.invoke(function, {})
    monkeypatch.undo()
    assert [c.aws_request_id for c in contexts] == [first.request_id], "the id the handler's context received"

    result = place(served, "logged")
    second = served.stats.invocations[-1]
    logs = served.client("logs")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [served.lambda_logs.stream(function)]
    assert STREAM_NAME.match(streams[0]["logStreamName"])
    assert streams[0]["logStreamName"].startswith(f"{second.at:%Y/%m/%d}/")

    lines = _stream_events(served, group, streams[0]["logStreamName"])
    assert lines[0].startswith("INIT_START Runtime Version: python:"), "a cold start opens the stream"
    assert lines[1] == f"START RequestId: {first.request_id} Version: $LATEST"
    end = lines.index(f"END RequestId: {first.request_id}")
    assert json.loads(lines[2])["function_request_id"] == first.request_id, "the handler's own lines"
    cold = REPORT.match(lines[end + 1])
    assert cold and cold["id"] == first.request_id and cold["init"], lines[end + 1]
    assert int(cold["memory"]) == served.deployment.functions[function].memory_mb

    warm = lines[end + 2 :]
    assert warm[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    handler_lines = [json.loads(line) for line in warm[1:-2]]
    assert any(h.get("message") == "order placed" and h.get("order_id") == result["order_id"] for h in handler_lines)
    assert warm[-2] == f"END RequestId: {second.request_id}"
    report = REPORT.match(warm[-1])
    assert report and report["id"] == second.request_id and not report["init"], "no init on a warm start"


def test_filter_log_events_finds_an_invocation_by_its_request_id(served: LocalCloud):
    function = served.outputs["place_order_function"]
    place(served, "filtered")
    invocation = served.stats.invocations[-1]
    found = served.client("logs").filter_log_events(
        logGroupName=served.lambda_logs.group(function), filterPattern=f'"{invocation.request_id}"'
    )["events"]
    messages = [e["message"] for e in found]
    assert messages[0] == f"START RequestId: {invocation.request_id} Version: $LATEST"
    assert any(json.loads(m).get("message") == "order placed" for m in messages[1:-2]), "the handler's lines"
    assert messages[-2] == f"END RequestId: {invocation.request_id}"
    assert REPORT.match(messages[-1])
    assert {e["logStreamName"] for e in found} == {served.lambda_logs.stream(function)}
    at = int(invocation.at.timestamp() * 1000) if invocation.at else 0
    assert found[0]["timestamp"] == at, "timestamps are the local clock's"


def test_a_function_without_a_declared_group_logs_to_aws_lambda_name(served: LocalCloud):
    served.lambda_logs.register("undeclared", None)
    assert served.lambda_logs.group("undeclared") == "/aws/lambda/undeclared"
