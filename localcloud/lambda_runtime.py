"""Lambda functions run in this process, from their deployed archives, with AWS's invocation contract.

Each function is loaded from its own archive (extracted once) with its own module namespace, so two functions
of one handler package never share module state, and its own environment variables, which only the thread
running the invocation sees (:mod:`localcloud.function_environment`). Invocations are serialised (one lock):
Powertools keeps class-level state, and ``sys.modules``, ``sys.path`` and ``sys.stdout`` are swapped per
function; Step Functions runs executions in threads, so this also makes their Lambda calls safe.

:func:`moto_runs_lambdas_in_process` makes moto's Lambda (and everything that invokes through it: Step
Functions' ``lambda:invoke``, SNS, direct invokes) call these in-process functions instead of Docker.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import shutil
import sys
import tempfile
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from localcloud.function_environment import function_environment
from localcloud.handler_thread import invocation_slot, run_in_handler_thread
from localcloud.telemetry import running

__all__ = ["MAX_SYNC_PAYLOAD_BYTES", "InvocationError", "LocalContext", "LocalFunction", "moto_runs_lambdas_in_process"]


#: Lambda's limit on a synchronous invocation's request and response payloads (6 MB).
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024


class _InitFailure(Exception):
    """The handler could not be loaded; ``error_type`` and ``message`` are the Python runtime's for it."""

    def __init__(self, error_type: str, message: str, trace: list[str]) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


def _handler(module_name: str, attribute: str) -> Callable[..., Any]:
    """The handler, loaded as Lambda's Python runtime loads it, failing with that runtime's error types: a syntax
    error, an import error and a missing handler have their own; anything else the module raises is itself."""
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {(error.text or "").strip()}\n']
        raise _InitFailure(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", trace
        ) from error
    except ImportError as error:
        raise _InitFailure(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}", []
        ) from error
    handler = getattr(module, attribute, None)
    if handler is None:
        raise _InitFailure("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'", [])
    return handler


class InvocationError(Exception):
    """The handler raised: ``error_type`` is what Lambda reports as ``errorType`` (the exception class name)."""

    def __init__(self, error_type: str, message: str, stack: list[str]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.error_message = message
        self.stack = stack

    def payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.error_message, "stackTrace": self.stack}


@dataclass
class LocalContext:
    """The Lambda context object handlers receive."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """The timeout less the real time the invocation has taken: a duration, which the local clock does not
        change. Powertools adds it to the local clock's now for the deadline of an IN_PROGRESS record."""
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class LocalFunction:
    """One deployed function: its extracted archive, handler string, environment and loaded modules."""

    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    modules: dict[str, ModuleType] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None  # the time handlers read (handler_runtime.records.clock)

    @staticmethod
    def _extracted(name: str, archive: bytes) -> Path:
        code_dir = Path(tempfile.mkdtemp(prefix=f"localcloud-{name}-"))
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            zipped.extractall(code_dir)
        return code_dir

    @classmethod
    def from_archive(
        cls,
        name: str,
        arn: str,
        handler: str,
        archive: bytes,
        *,
        environment: dict[str, str],
        timeout_seconds: int = 3,
        memory_mb: int = 128,
    ) -> LocalFunction:
        return cls(name, arn, handler, cls._extracted(name, archive), dict(environment), timeout_seconds, memory_mb)

    def replace_code(self, archive: bytes) -> None:
        """Load new code: the archive is extracted afresh and the loaded modules dropped, so the next invocation
        imports the new code (a cold start). Waits for a running invocation to end."""
        code_dir = self._extracted(self.name, archive)
        with invocation_slot():
            previous, self.code_dir, self.modules = self.code_dir, code_dir, {}
            self.__dict__.pop("packages", None)  # the new archive may hold other packages
        shutil.rmtree(previous, ignore_errors=True)

    @functools.cached_property
    def packages(self) -> frozenset[str]:
        """The top-level packages and modules of the archive (it never changes once extracted)."""
        entries = {p.name for p in self.code_dir.iterdir() if p.is_dir() or p.suffix == ".py"} - {"__pycache__"}
        return frozenset(name.removesuffix(".py") for name in entries)

    def _owns(self, module_name: str) -> bool:
        return module_name.split(".", maxsplit=1)[0] in self.packages

    @contextlib.contextmanager
    def _loaded(self) -> Iterator[None]:
        """This function's modules in sys.modules (and its code first on sys.path) for the invocation only."""
        stashed = {n: m for n, m in sys.modules.items() if self._owns(n)}
        for n in stashed:
            del sys.modules[n]
        sys.modules.update(self.modules)
        sys.path.insert(0, str(self.code_dir))
        try:
            yield
        finally:
            sys.path.remove(str(self.code_dir))
            self.modules = {n: m for n, m in sys.modules.items() if self._owns(n)}
            for n in self.modules:
                del sys.modules[n]
            sys.modules.update(stashed)

    def variables(self) -> dict[str, str]:
        """What the invocation sees over the process environment: Lambda's variables, then the function's own."""
        return {
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout_seconds),
            "_HANDLER": self.handler,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
            **self.environment,
        }

    def initialize(self, stdout: TextIO | io.TextIOBase | None = None) -> None:
        """Lambda's INIT phase: import the handler's module (its module-level code runs here, not in the first
        invocation). An import that fails is left for the invocation to report."""
        module_name = self.handler.rpartition(".")[0]
        printed = contextlib.redirect_stdout(stdout) if stdout is not None else contextlib.nullcontext()  # type: ignore[arg-type]
        environment = function_environment(self.variables())
        with invocation_slot(), printed, environment, self._loaded(), contextlib.suppress(Exception):
            importlib.import_module(module_name)

    def invoke(self, event: Any, stdout: TextIO | io.TextIOBase | None = None, request_id: str | None = None) -> Any:
        """Run the handler on ``event``; returns its result or raises :class:`InvocationError`.

        ``stdout`` receives what the handler prints (its logs and EMF metrics), as CloudWatch Logs would;
        ``request_id`` is the context's ``aws_request_id`` (default: a new one). The handler runs on a thread of
        its own, stopped at ``timeout_seconds`` (see :mod:`localcloud.handler_thread`).
        """
        context = LocalContext(
            self.name, self.memory_mb, self.arn, self.timeout_seconds, request_id or str(uuid.uuid4())
        )
        printed = contextlib.redirect_stdout(stdout) if stdout is not None else contextlib.nullcontext()  # type: ignore[arg-type]
        with invocation_slot(), printed, self._loaded():
            outcome = run_in_handler_thread(
                functools.partial(self._call_handler, event, context),
                name=f"lambda-{self.name}",
                timeout_seconds=self.timeout_seconds,
                thread_state=self._thread_state,
            )
        if outcome.timed_out:
            self.modules = {}  # Lambda resets the execution environment: the next invocation is a cold start
            at = (self.clock() if self.clock is not None else datetime.now(UTC)).astimezone(UTC)
            stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            message = f"{stamp} {context.aws_request_id} Task timed out after {self.timeout_seconds:.2f} seconds"
            raise InvocationError("Sandbox.Timedout", message, [])
        if outcome.error is not None:
            error = outcome.error
            if isinstance(error, _InitFailure):
                raise InvocationError(error.error_type, error.message, error.trace) from error
            if not isinstance(error, Exception):
                raise error  # a BaseException (SystemExit, KeyboardInterrupt) goes on to the caller
            raise InvocationError(type(error).__name__, str(error), traceback.format_exception(error)[-5:]) from error
        return _marshal(outcome.result)

    @contextlib.contextmanager
    def _thread_state(self) -> Iterator[None]:
        """What the handler's thread sees: this function's name (log routing, call recording) and variables."""
        with running(self.name), function_environment(self.variables()):
            yield

    def _call_handler(self, event: Any, context: LocalContext, started: Callable[[], None]) -> Any:
        """On the handler's thread: its module imported (the init phase), then the handler."""
        module_name, _, attribute = self.handler.rpartition(".")
        handler = _handler(module_name, attribute)
        records = sys.modules.get("handler_runtime.records")
        if self.clock is not None and records is not None:
            setattr(records, "clock", self.clock)  # noqa: B010 (a module loaded at run time)
        started()
        context.started = time.monotonic()
        return handler(event, context)


def _marshal(result: Any) -> Any:
    """The result as it crosses the wire, like the Python runtime: Decimals become numbers; anything else that
    is not JSON fails the invocation with Runtime.MarshalError, and a response over Lambda's synchronous payload
    limit with Function.ResponseSizeTooLarge."""

    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        serialised = json.dumps(result, default=number)
    except (TypeError, ValueError) as error:
        raise InvocationError("Runtime.MarshalError", f"Unable to marshal response: {error}", []) from error
    if len(serialised.encode()) > MAX_SYNC_PAYLOAD_BYTES:
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD_BYTES} bytes)."
        raise InvocationError("Function.ResponseSizeTooLarge", message, [])
    return json.loads(serialised)


@contextlib.contextmanager
def moto_runs_lambdas_in_process(
    invoker: Callable[[LocalFunction, Any], Any] | None = None,
) -> Iterator[dict[str, LocalFunction]]:
    """While active, moto invokes every Lambda function in-process from its deployed zip.

    Yields the registry of loaded functions (by name). ``invoker(function, event)`` runs an invocation (default:
    ``function.invoke``); it raises :class:`InvocationError` for a handler error. Use inside an active ``mock_aws``.
    """
    run = invoker or (lambda function, event: function.invoke(event))
    from moto.awslambda.models import LambdaFunction

    registry: dict[str, LocalFunction] = {}
    original = LambdaFunction._invoke_lambda

    def invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
        local = registry.get(self.function_name)
        if local is None or local.arn != self.function_arn:
            local = LocalFunction.from_archive(
                self.function_name,
                self.function_arn,
                self.handler,
                self.code_bytes,
                environment=dict(self.environment_vars),
                timeout_seconds=int(self.timeout),
                memory_mb=int(self.memory_size),
            )
            registry[self.function_name] = local
        payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
        try:
            return json.dumps(run(local, payload)), False, ""
        except InvocationError as error:
            return json.dumps(error.payload()), True, "\n".join(error.stack)

    original_invoke = LambdaFunction.invoke

    def invoke_reporting_unhandled(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
        """moto marks a handler's exception ``Handled``; Lambda answers ``Unhandled`` for a raised exception."""
        answer = original_invoke(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return answer

    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke_reporting_unhandled  # type: ignore[method-assign]
    try:
        yield registry
    finally:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]
