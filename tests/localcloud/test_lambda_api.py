"""Lambda's Invoke API over HTTP as served on loopback: status codes, headers and bodies as Lambda answers them,
read back with botocore's own parser (what boto3 and the AWS CLI see), against the dev stack in a local cloud."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Request

from localcloud.endpoints import LocalEndpoints, ServedCloud
from localcloud.engine import LocalCloud
from localcloud.lambda_api import MAX_ASYNC_PAYLOAD_BYTES, invoke_endpoint
from localcloud.lambda_runtime import MAX_SYNC_PAYLOAD_BYTES, LocalFunction

ECHO = """
import json

def handler(event, context):
    print(f"echo got {json.dumps(event)}")
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError(event["fail"])
    if isinstance(event, dict) and event.get("spin"):
        while True:
            pass
    return {"event": event, "request_id": context.aws_request_id}
"""
INVOKE = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")


def not_moto(environ: Any, start_response: Any) -> Iterable[bytes]:
    start_response("599 Not Here", [("Content-Type", "text/plain")])
    return [b"the request reached moto"]


@pytest.fixture(scope="module")
def served() -> Iterator[ServedCloud]:
    with LocalCloud.started("dev") as cloud:
        account = next(iter(cloud.deployment.functions.values())).arn.split(":")[4]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("echo_app.py", ECHO)
        cloud.deployment.functions["echo"] = LocalFunction.from_archive(
            "echo",
            f"arn:aws:lambda:us-east-1:{account}:function:echo",
            "echo_app.handler",
            archive.getvalue(),
            environment={},
            timeout_seconds=1,
        )
        yield ServedCloud(cloud, threading.Lock(), "virtual", "in memory")


@pytest.fixture
def client(served: ServedCloud) -> Client:
    return Client(LocalEndpoints(not_moto, served))


def invoke(
    client: Client, function: str, body: bytes | str = b"{}", qualifier: str | None = None, **headers: str
) -> TestResponse:
    query = {"Qualifier": qualifier} if qualifier is not None else None
    return client.post(f"/2015-03-31/functions/{function}/invocations", data=body, query_string=query, headers=headers)


def parsed(response: TestResponse) -> dict[str, Any]:
    """The response as boto3 reads it."""
    headers = HeadersDict(dict(response.headers))  # case-insensitive, as botocore's own
    raw = {"status_code": response.status_code, "headers": headers, "body": response.get_data()}
    return create_parser("rest-json").parse(raw, INVOKE.output_shape)


def test_a_synchronous_invoke_runs_the_function_and_answers_its_result(served: ServedCloud, client: Client):
    cloud = served.cloud
    place_order = cloud.outputs["place_order_function"]
    command = {"customer_id": "api", "items": [{"sku": "sku-apple", "qty": 1}], "total": 12, "request_id": "api-1"}
    response = invoke(client, place_order, json.dumps(command))
    assert response.status_code == 200
    assert response.headers["X-Amz-Executed-Version"] == "$LATEST"
    assert "X-Amz-Function-Error" not in response.headers and "X-Amz-Log-Result" not in response.headers
    result = json.loads(response.get_data())
    assert result["ok"] is True
    order = cloud.client("dynamodb").get_item(
        TableName=cloud.outputs["orders_table"], Key={"order_id": {"S": result["order_id"]}}
    )
    assert order["Item"]["customer_id"]["S"] == "api"
    read = parsed(response)
    assert (read["StatusCode"], read["ExecutedVersion"], json.loads(read["Payload"])) == (200, "$LATEST", result)
    assert "FunctionError" not in read


def test_a_handler_error_is_a_200_marked_unhandled_with_lambdas_error_body(client: Client):
    response = invoke(client, "echo", json.dumps({"fail": "no such order"}), **{"X-Amz-Log-Type": "Tail"})
    tail = base64.b64decode(response.headers["X-Amz-Log-Result"]).decode()
    assert "[ERROR] ValueError: no such order" in tail  # the runtime's error line, as in AWS's tail
    assert response.status_code == 200
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    body = json.loads(response.get_data())
    assert sorted(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "no such order")
    assert body["requestId"] == response.headers["x-amzn-RequestId"]
    assert any("echo_app.py" in frame for frame in body["stackTrace"])
    assert parsed(response)["FunctionError"] == "Unhandled"


def test_a_handler_past_its_timeout_is_answered_as_sandbox_timedout(client: Client):
    response = invoke(client, "echo", json.dumps({"spin": True}))
    body = json.loads(response.get_data())
    assert (response.status_code, response.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith(f"{body['requestId']} Task timed out after 1.00 seconds")


def test_the_log_tail_is_this_invocations_lines(served: ServedCloud, client: Client):
    invoke(client, "echo", json.dumps({"n": 1}))
    response = invoke(client, "echo", json.dumps({"n": 2}), **{"X-Amz-Log-Type": "Tail"})
    tail = base64.b64decode(response.headers["X-Amz-Log-Result"]).decode()
    request_id = response.headers["x-amzn-RequestId"]
    lines = tail.splitlines()  # as AWS's tail: Lambda's own lines around the handler's
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[1] == 'echo got {"n": 2}'
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert served.cloud.logs.logs["echo"][-2:] == ['echo got {"n": 1}', 'echo got {"n": 2}']
    assert base64.b64decode(parsed(response)["LogResult"]) == tail.encode()


def test_the_log_tail_keeps_the_last_four_kilobytes(client: Client):
    response = invoke(client, "echo", json.dumps({"pad": "y" * 6000}), **{"X-Amz-Log-Type": "Tail"})
    tail = base64.b64decode(response.headers["X-Amz-Log-Result"])
    assert len(tail) == 4096 and b'y"}\nEND RequestId: ' in tail


def test_an_event_invoke_is_accepted_and_runs_through_the_async_invoker(served: ServedCloud, client: Client):
    cloud = served.cloud
    response = invoke(client, "echo", json.dumps({"async": 1}), **{"X-Amz-Invocation-Type": "Event"})
    assert (response.status_code, response.get_data()) == (202, b"")
    assert parsed(response)["StatusCode"] == 202
    assert [item.event for item in cloud.async_invoker.queue] == [{"async": 1}]
    cloud.drain()
    ran = [i for i in cloud.stats.invocations if i.function == "echo" and i.event == {"async": 1}]
    assert [(i.source, i.result["event"]) for i in ran] == [("async", {"async": 1})]


def test_a_dry_run_only_checks_and_runs_nothing(served: ServedCloud, client: Client):
    before = len(served.cloud.stats.invocations)
    response = invoke(client, "echo", b"{}", **{"X-Amz-Invocation-Type": "DryRun"})
    assert (response.status_code, parsed(response)["StatusCode"]) == (204, 204)
    assert len(served.cloud.stats.invocations) == before
    missing = invoke(client, "nope", b"{}", **{"X-Amz-Invocation-Type": "DryRun"})
    assert missing.status_code == 404


def test_an_empty_body_is_the_empty_event(client: Client):
    assert json.loads(invoke(client, "echo", b"").get_data())["event"] == {}


def error_of(response: TestResponse) -> tuple[int, str, str]:
    error = parsed(response)["Error"]
    return response.status_code, error["Code"], error["Message"]


def test_a_body_that_is_not_json_is_refused(client: Client):
    status, code, message = error_of(invoke(client, "echo", b"{not json"))
    assert (status, code) == (400, "InvalidRequestContentException")
    assert message.startswith("Could not parse request body into json: ")


def test_payloads_over_lambdas_limits_are_refused(client: Client):
    def padded(size: int) -> bytes:
        body = json.dumps({"pad": "z" * (size - len('{"pad": ""}'))}).encode()
        assert len(body) == size
        return body

    refused = invoke(client, "echo", padded(MAX_SYNC_PAYLOAD_BYTES + 1))
    assert error_of(refused) == (
        413,
        "RequestEntityTooLargeException",
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    )
    event = {"X-Amz-Invocation-Type": "Event"}
    assert invoke(client, "echo", padded(MAX_ASYNC_PAYLOAD_BYTES), **event).status_code == 202
    assert error_of(invoke(client, "echo", padded(MAX_ASYNC_PAYLOAD_BYTES + 1), **event)) == (
        413,
        "RequestEntityTooLargeException",
        f"{MAX_ASYNC_PAYLOAD_BYTES + 1} byte payload is too large for the Event invocation type "
        f"(limit {MAX_ASYNC_PAYLOAD_BYTES} bytes)",
    )


def test_an_unknown_function_is_not_found_by_its_arn(served: ServedCloud, client: Client):
    account = served.cloud.deployment.functions["echo"].arn.split(":")[4]
    assert error_of(invoke(client, "nope")) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:us-east-1:{account}:function:nope",
    )


def test_a_function_is_found_by_each_of_its_names(served: ServedCloud, client: Client):
    arn = served.cloud.deployment.functions["echo"].arn
    partial = arn.split(":", 4)[-1]
    for name in ("echo", arn, partial, "echo:$LATEST", f"{arn}:$LATEST"):
        assert invoke(client, name).status_code == 200, name
    assert invoke(client, "echo", qualifier="$LATEST").status_code == 200
    assert error_of(invoke(client, "echo:live"))[:2] == (404, "ResourceNotFoundException")
    assert error_of(invoke(client, arn.replace("us-east-1", "eu-west-1")))[:2] == (404, "ResourceNotFoundException")
    assert error_of(invoke(client, "echo", qualifier="live"))[:2] == (404, "ResourceNotFoundException")
    assert error_of(invoke(client, "echo:$LATEST", qualifier="live"))[:2] == (400, "InvalidParameterValueException")


def test_other_requests_go_to_moto(client: Client):
    assert client.get("/2015-03-31/functions/echo").status_code == 599
    assert client.get("/2015-03-31/functions/echo/invocations").status_code == 599


def test_the_engine_lock_is_held_while_the_function_runs(served: ServedCloud):
    seen: list[tuple[str, int]] = []
    invocations = served.cloud.stats.invocations

    @contextlib.contextmanager
    def recording_lock() -> Iterator[None]:
        seen.append(("enter", len(invocations)))
        yield
        seen.append(("exit", len(invocations)))

    environ = {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(b"{}"), "CONTENT_LENGTH": "2"}
    request = Request(environ)
    response = invoke_endpoint(served.cloud, request, "echo", engine_lock=recording_lock())
    assert response.status_code == 200
    (_, before), (_, after) = seen
    assert after == before + 1


def test_a_request_as_botocore_serialises_it_is_answered(served: ServedCloud, client: Client):
    arn = served.cloud.deployment.functions["echo"].arn
    params = {"FunctionName": arn, "Qualifier": "$LATEST", "Payload": b'{"from": "boto"}', "LogType": "Tail"}
    request = create_serializer("rest-json").serialize_to_request(params, INVOKE)
    assert "%3A" in request["url_path"]  # the ARN travels percent-encoded
    response = client.post(
        request["url_path"], query_string=request["query_string"], headers=request["headers"], data=request["body"]
    )
    read = parsed(response)
    assert (read["StatusCode"], json.loads(read["Payload"])["event"]) == (200, {"from": "boto"})
    assert b'echo got {"from": "boto"}\n' in base64.b64decode(read["LogResult"])
