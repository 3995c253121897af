"""Lambda's Invoke API over HTTP, answered by the local cloud as Lambda answers it.

``POST /2015-03-31/functions/{FunctionName}/invocations`` runs the function through :meth:`LocalCloud.invoke`
(faults, metrics, logs, timeouts) for ``RequestResponse``, queues it with :meth:`LocalCloud.invoke_async` (retries
and on-failure destination per the function's async config) for ``Event``, and only checks the function exists
for ``DryRun``. Status codes, headers and error codes are Lambda's, so boto3 and the AWS CLI read the answers as
AWS's: a handler error is a 200 with ``X-Amz-Function-Error: Unhandled``; a service error carries its code in
``x-amzn-ErrorType`` and its message in the JSON body. An empty body is the event ``{}``, as Lambda passes it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from localcloud.lambda_runtime import MAX_SYNC_PAYLOAD_BYTES

if TYPE_CHECKING:
    from localcloud.engine import LocalCloud

__all__ = ["INVOKE_PATH", "MAX_ASYNC_PAYLOAD_BYTES", "invoke_endpoint"]

#: The Invoke operation's path; the function name (or ARN) is its one group.
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
#: The largest asynchronous (Event) invocation payload: Lambda's limit since 2025 (it was 256 KB).
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
#: How much of an invocation's log ``X-Amz-Log-Type: Tail`` returns.
LOG_TAIL_BYTES = 4096
_LATEST = "$LATEST"
_NAME_FORMS = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


class _ServiceError(Exception):
    """An error Lambda's API answers itself (not the handler's)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        body = json.dumps({"Type": "User", "message": self.message})
        headers = {"x-amzn-ErrorType": self.code, "x-amzn-RequestId": str(uuid.uuid4())}
        return Response(body, status=self.status, headers=headers, mimetype="application/json")


@dataclass(frozen=True)
class _Target:
    name: str
    qualifier: str | None


def invoke_endpoint(
    cloud: LocalCloud,
    request: Request,
    function_name: str,
    *,
    engine_lock: AbstractContextManager[Any] | None = None,
) -> Response:
    """Answer an Invoke request for ``function_name`` (a name, a full or partial ARN, possibly with a qualifier)
    as Lambda does. ``engine_lock`` is held while the request touches the cloud (the invocation itself)."""
    try:
        return _invoke(cloud, request, function_name, engine_lock or contextlib.nullcontext())
    except _ServiceError as error:
        return error.response()


def _invoke(cloud: LocalCloud, request: Request, function_name: str, lock: AbstractContextManager[Any]) -> Response:
    target = _target(cloud, function_name, request.args.get("Qualifier"))
    invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type not in ("RequestResponse", "Event", "DryRun"):
        raise _ServiceError(400, "InvalidParameterValueException", f"Unsupported invocation type: {invocation_type}")
    body = request.get_data()
    limit = MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES
    if len(body) > limit:
        message = (
            f"{len(body)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
            if invocation_type == "Event"
            else f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
        )
        raise _ServiceError(413, "RequestEntityTooLargeException", message)
    event = _event(body)
    if invocation_type == "DryRun":
        return Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
    if invocation_type == "Event":
        with lock:
            request_id = cloud.invoke_async(target.name, event)
        return Response(status=202, headers={"x-amzn-RequestId": request_id})
    with lock:
        invocation = cloud.invoke(target.name, event)
        lines = cloud.lambda_logs.last.get(target.name, [])  # START, the handler's lines, [ERROR], END, REPORT
    request_id = invocation.request_id
    headers = {"X-Amz-Executed-Version": _LATEST, "x-amzn-RequestId": request_id}
    if request.headers.get("X-Amz-Log-Type") == "Tail":
        tail = "".join(f"{line}\n" for line in lines).encode()[-LOG_TAIL_BYTES:]
        headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
    if invocation.error is not None:
        headers["X-Amz-Function-Error"] = "Unhandled"
        error = invocation.error
        payload: Any = {
            "errorMessage": error.error_message,
            "errorType": error.error_type,
            "requestId": request_id,
            "stackTrace": error.stack,
        }
    else:
        payload = invocation.result
    return Response(json.dumps(payload), status=200, headers=headers, mimetype="application/json")


def _target(cloud: LocalCloud, function_name: str, query_qualifier: str | None) -> _Target:
    """The deployed function ``function_name`` names, or the error Lambda answers."""
    region = cloud.deployment.region
    account = _account(cloud)
    form = _NAME_FORMS.match(function_name)
    if form is None:
        raise _ServiceError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{function_name}' at 'functionName' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern",
        )
    name, qualifier = form["name"], form["qualifier"]
    if qualifier is not None and query_qualifier is not None and qualifier != query_qualifier:
        raise _ServiceError(
            400,
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
        )
    qualifier = qualifier or query_qualifier
    named_region, named_account = form["region"] or region, form["account"] or account
    arn = f"arn:aws:lambda:{named_region}:{named_account}:function:{name}"
    if name not in cloud.deployment.functions or (named_region, named_account) != (region, account):
        raise _ServiceError(404, "ResourceNotFoundException", f"Function not found: {arn}")
    if qualifier not in (None, _LATEST):
        raise _ServiceError(404, "ResourceNotFoundException", f"Function not found: {arn}:{qualifier}")
    return _Target(name, qualifier)


def _account(cloud: LocalCloud) -> str:
    """The account the stack is deployed in (every function's ARN names it)."""
    for function in cloud.deployment.functions.values():
        return function.arn.split(":")[4]
    return "123456789012"


def _event(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as error:
        raise _ServiceError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from error
