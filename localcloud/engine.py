"""The local cloud: the stack deployed into an in-process AWS (moto) with AWS's event-source semantics.

>>> with LocalCloud.started("dev") as cloud:                     # doctest: +SKIP
...     cloud.invoke(cloud.outputs["place_order_function"], {...})
...     cloud.drain()                                             # streams, queues, executions until quiet
...     cloud.advance(minutes=20)                                 # the clock: schedules fire, messages reappear

Every invocation — direct, from a queue or stream, asynchronous, scheduled, or a Step Functions task — goes
through :meth:`LocalCloud.invoke`, which applies injected faults, publishes the AWS/Lambda metrics, files the
handler's log lines (in CloudWatch Logs too, between Lambda's platform lines) and EMF metrics, and records the AWS
calls the handler makes, each authorised against the function's role as declared (``cloud.iam``).
:meth:`LocalCloud.sync_cloudwatch` copies the metrics and the alarms' evaluated states into CloudWatch;
:meth:`LocalCloud.reload_changed_code` loads handler code edited on disk.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import copy
import hashlib
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from localcloud import function_environment
from localcloud.alarm_evaluator import AlarmState, evaluate_alarm
from localcloud.clock import Clock
from localcloud.cloudwatch_sync import CloudWatchSync, metrics_listed_once
from localcloud.code_reload import CodeWatch, archives_recorded
from localcloud.declared_config import reported_by_moto
from localcloud.deploy import Deployment, MotoDeployer
from localcloud.faults import AwsCallFaults, Fault, RandomFaults
from localcloud.iam_enforcement import IamEnforcement
from localcloud.lambda_logs import LambdaLogs, closing_lines, error_line, opening_lines
from localcloud.lambda_runtime import InvocationError, LocalFunction, moto_runs_lambdas_in_process
from localcloud.program import ProgramRun, project_root, run_program, stack_config
from localcloud.sources import AsyncInvoker, ScheduleSource, SqsSource, StreamSource
from localcloud.telemetry import HANDLER_STDOUT, CallRecorder, LogRouter, MetricStore, running
from serverless_patterns.internals.archive import build_archive

__all__ = ["DrainTimeout", "Invocation", "LocalCloud", "transactions_snapshot_their_items"]

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "localcloud",
    "AWS_SECRET_ACCESS_KEY": "localcloud",
    "AWS_SESSION_TOKEN": "localcloud",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # DynamoDB streams in moto
}


class DrainTimeout(RuntimeError):
    """drain() hit its bound with work still going on; ``busy`` says where."""

    def __init__(self, busy: list[str]) -> None:
        self.busy = busy
        super().__init__("still busy after the drain bound: " + "; ".join(busy))


#: Powertools keeps "is this a cold start?" in module globals of the logger, tracer and metrics; the functions
#: share those modules here, so each function's cold start sets them again (on AWS each has its own process).
_POWERTOOLS_COLD_START_FLAGS = (
    "aws_lambda_powertools.logging.logger",
    "aws_lambda_powertools.tracing.tracer",
    "aws_lambda_powertools.metrics.provider.cold_start",
)


def _powertools_cold_start() -> None:
    for name in _POWERTOOLS_COLD_START_FLAGS:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "is_cold_start"):
            setattr(module, "is_cold_start", True)  # noqa: B010 (a module global)


@dataclass
class Invocation:
    function: str
    source: str
    event: Any
    result: Any = None
    error: InvocationError | None = None
    at: datetime | None = None
    faulted: bool = False  # an injected fault ran instead of the plain invocation
    request_id: str = ""  # the context's aws_request_id, as in the function's log stream


@dataclass
class Stats:
    invocations: list[Invocation] = field(default_factory=list)
    sqs_batches: dict[str, int] = field(default_factory=dict)


class LocalCloud:
    """A deployed stack and its emulators. Use :meth:`started` to get one with moto running."""

    def __init__(
        self,
        stack: str = "dev",
        clock: Clock | None = None,
        echo_logs: bool = False,
        project: Path | str | None = None,
        *,
        enforce_iam: bool = True,
    ) -> None:
        self.stack = stack
        self.project = project_root(project)
        self.config = stack_config(stack, self.project)
        self.clock = clock or Clock()
        self.deployment = Deployment(region=self.config.get("aws:region", "us-east-1"))
        self.metrics = MetricStore(self.clock.now)
        self.logs = LogRouter(sys.stdout, self.metrics, echo=echo_logs)
        self.lambda_logs = LambdaLogs(account="", region=self.deployment.region)
        self.cloudwatch = CloudWatchSync(account="", region=self.deployment.region)
        self.code = CodeWatch()
        self.calls = CallRecorder()
        self.iam = IamEnforcement(self.deployment, enforce=enforce_iam)
        self.stats = Stats()
        self.faults: dict[str, list[Fault]] = {}
        self.call_faults = AwsCallFaults()
        self.fault_policy: RandomFaults | None = None  # random faults for a chaos run
        self.outputs: dict[str, Any] = {}
        self.program: ProgramRun | None = None
        self.sqs_sources: list[SqsSource] = []
        self.stream_sources: list[StreamSource] = []
        self.schedules: list[ScheduleSource] = []
        self.async_invoker = AsyncInvoker(self)
        self._seen_executions: set[str] = set()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.pending_executions = PendingExecutions()

    # --- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def started(
        cls,
        stack: str = "dev",
        clock: Clock | None = None,
        echo_logs: bool = False,
        project: Path | str | None = None,
        *,
        enforce_iam: bool = True,
    ) -> Iterator[LocalCloud]:
        """Start moto, deploy the stack of ``project`` (default: the working folder) into it, and run until the
        context ends. With ``enforce_iam`` (the default) a handler's AWS call that its role does not allow fails
        as on AWS (:mod:`localcloud.iam_enforcement`); without, it is only recorded in ``cloud.iam.denials``."""
        from moto import mock_aws

        cloud = cls(stack, clock, echo_logs, project, enforce_iam=enforce_iam)
        saved_env = dict(os.environ)
        # Powertools warns on every invocation that emits no metric; on AWS that goes to the function's log.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        os.environ.update({**_FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": cloud.deployment.region})
        try:
            with contextlib.ExitStack() as stack_:
                stack_.enter_context(function_environment.installed())  # each invocation's variables are its own
                stack_.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
                stack_.enter_context(cloud.clock.installed_in_moto())
                stack_.enter_context(cloud.clock.installed_in_powertools())
                stack_.enter_context(_short_step_function_retries())
                stack_.enter_context(cloud.pending_executions.installed())
                stack_.enter_context(_definitions_parsed_once())
                stack_.enter_context(transactions_snapshot_their_items())
                stack_.enter_context(metrics_listed_once())
                registry = stack_.enter_context(moto_runs_lambdas_in_process(cloud._invoke_from_moto))
                stack_.enter_context(reported_by_moto())
                stack_.enter_context(cloud.iam.installed())  # under the recorder: a denied call is recorded too
                stack_.enter_context(cloud.calls.installed())
                stack_.enter_context(cloud.call_faults.installed())
                stack_.enter_context(HANDLER_STDOUT.routing_to(cloud.logs))
                cloud.deploy()
                registry.update(cloud.deployment.functions)
                yield cloud
        finally:
            os.environ.clear()
            os.environ.update(saved_env)

    def deploy(self) -> dict[str, Any]:
        with archives_recorded() as built:
            self.program = run_program(MotoDeployer(self.deployment), self.stack, self.config, self.project)
        self.outputs = dict(self.program.outputs)
        self.iam.validate()
        for name, path in self.deployment.archives.items():
            if path in built:
                self.code.watch(name, *built[path], sha256_b64=_sha256_b64(Path(path).read_bytes()))
        account = str(self.client("sts").get_caller_identity()["Account"])
        self.lambda_logs.account = self.cloudwatch.account = account
        self.cloudwatch.start([alarm["name"] for alarm in self.deployment.alarms])
        for name, function in self.deployment.functions.items():
            function.clock = self.clock.now  # the timestamps handlers write follow the local clock
            self.lambda_logs.register(name, self.deployment.log_groups.get(name))
        # Sources are polled in a fixed order (Pulumi registers resources in whatever order their inputs resolve),
        # so that the same driving repeats the same run.
        for mapping in sorted(self.deployment.mappings, key=lambda m: (m.function_name, m.source_arn)):
            source = SqsSource(mapping, self) if mapping.kind == "sqs" else StreamSource(mapping, self)
            (self.sqs_sources if isinstance(source, SqsSource) else self.stream_sources).append(source)  # type: ignore[arg-type]
        schedules = sorted(self.deployment.schedules, key=lambda s: (s.group, s.name))
        self.schedules = [ScheduleSource(s, self, self.clock.now()) for s in schedules]
        return self.outputs

    def client(self, service: str) -> Any:
        """A boto3 client for the local cloud's region, made once per service (clients are thread-safe); its calls
        are the local cloud's own, never authorised as a handler's."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.iam.trust(boto3.client(service, region_name=self.deployment.region))
            return self._clients[service]

    def reload_changed_code(self) -> list[str]:
        """Load the handler code that changed on disk since it was deployed (or last reloaded), as ``sam local``
        re-reads code: each changed package's archive is rebuilt with the program's builder and loaded into its
        functions (their next invocation is a cold start, in a new log stream) and into Lambda (get_function
        reports the new CodeSha256). Returns the names of the functions reloaded. Cheap when nothing changed:
        a stat per source file."""
        reloaded: list[str] = []
        for (package, root), functions in self.code.changed().items():
            archive = build_archive(package, root)
            data = archive.path.read_bytes()
            for name in functions:
                if self.code.sources[name].sha256_b64 == archive.sha256_b64:
                    continue  # touched, not changed
                self.client("lambda").update_function_code(FunctionName=name, ZipFile=data)
                self.deployment.functions[name].replace_code(data)
                self.lambda_logs.retire(name)
                self.code.sources[name].sha256_b64 = archive.sha256_b64
                reloaded.append(name)
        return sorted(reloaded)

    # --- invocations -----------------------------------------------------------------------------------------

    def inject_fault(self, function: str, fault: Fault, times: int = 1) -> None:
        """The next ``times`` invocations of ``function`` run ``fault(real_invoke, event)`` instead."""
        self.faults.setdefault(function, []).extend([fault] * times)

    def fail_next(self, function: str, error_type: str, times: int = 1, after_side_effects: bool = False) -> None:
        """The next ``times`` invocations raise ``error_type`` (before, or after the real handler ran)."""

        def fault(real: Callable[[Any], Any], event: Any) -> Any:
            if after_side_effects:
                real(event)
            raise InvocationError(error_type, "injected by the local cloud", [])

        self.inject_fault(function, fault, times)

    def invoke(self, function: str, event: Any, source: str = "direct") -> Invocation:
        """Run ``function`` on ``event`` now, as Lambda would; never raises for a handler error."""
        local = self.deployment.functions[function]
        at = self.clock.now()
        invocation = Invocation(function, source, event, at=at)
        queued = self.faults.get(function)
        fault = queued.pop(0) if queued else self.fault_policy.pick(function, event) if self.fault_policy else None
        request_id = str(uuid.uuid4())
        position = self.logs.position(function)

        def real(payload: Any) -> Any:
            return local.invoke(payload, stdout=HANDLER_STDOUT, request_id=request_id)

        with running(function):
            init_ms = self._initialize(local) if self.lambda_logs.is_cold(function) else None
            opening = [(at, line) for line in opening_lines(request_id, init_ms, self.deployment.region)]
            for _, line in opening:
                self.logs.platform(function, line)
            started = time.perf_counter()
            try:
                invocation.result = fault(real, event) if fault else real(event)
            except InvocationError as error:
                invocation.error = error
            elapsed_ms = (time.perf_counter() - started) * 1000
            closing = closing_lines(request_id, elapsed_ms, init_ms, local.memory_mb)
            if invocation.error is not None:
                error = invocation.error
                closing.insert(0, error_line(error.error_type, error.error_message, error.stack))
            for line in closing:
                self.logs.platform(function, line)
        ended = self.clock.now()
        printed = self.logs.since(function, position)
        self.lambda_logs.write(function, [*opening, *printed, *((ended, line) for line in closing)])
        if local.handler.rpartition(".")[0] not in local.modules:
            self.lambda_logs.retire(function)  # its init failed: Lambda starts the next invocation afresh
        invocation.request_id = request_id
        invocation.faulted = fault is not None
        dims = {"FunctionName": function}
        self.metrics.put("AWS/Lambda", "Invocations", dims, 1, unit="Count")
        self.metrics.put("AWS/Lambda", "Errors", dims, 1 if invocation.error else 0, unit="Count")
        self.metrics.put("AWS/Lambda", "Duration", dims, elapsed_ms, unit="Milliseconds")
        self.stats.invocations.append(invocation)
        return invocation

    def _initialize(self, local: LocalFunction) -> float:
        """A cold start: the function's INIT phase; returns its duration in milliseconds."""
        _powertools_cold_start()
        started = time.perf_counter()
        local.initialize(stdout=HANDLER_STDOUT)
        return (time.perf_counter() - started) * 1000

    def invoke_async(self, function: str, event: Any) -> str:
        """Queue an asynchronous invocation (Event type): retried and dead-lettered per the function's config."""
        return self.async_invoker.submit(function, event)

    def _invoke_from_moto(self, local: LocalFunction, event: Any) -> Any:
        """Step Functions' lambda:invoke (and any moto-side invoke) comes through here."""
        invocation = self.invoke(local.name, event, source="moto")
        if invocation.error is not None:
            raise invocation.error
        return invocation.result

    def send_to_destination(self, arn: str, record: dict[str, Any]) -> None:
        if ":sqs:" not in arn:
            raise ValueError(f"the local cloud delivers failure records to SQS only, not {arn}")
        self.client("sqs").send_message(QueueUrl=self.deployment.queue_urls[arn], MessageBody=json.dumps(record))

    # --- time and quiescence ---------------------------------------------------------------------------------

    def advance(self, seconds: float = 0, minutes: float = 0) -> datetime:
        """Move the clock forward; due schedules fire and expired TTL items are deleted (drain() runs them)."""
        now = self.clock.advance(seconds + minutes * 60)
        for schedule in self.schedules:
            schedule.poll()
        self._expire_ttl_items()
        return now

    def run_for(self, seconds: float, interrupted: Callable[[], bool] | None = None) -> int:
        """Let ``seconds`` of local time pass with the event sources running, as that much time would on AWS.

        The clock stops at every moment something becomes due — a visibility timeout ends, a stream or async retry
        is due, a schedule fires — and the sources run there before it moves on, so advancing 15 minutes takes a
        poison message through each of its receives to its DLQ and fires a 5-minute schedule three times, each at
        its own time. Returns the invocations made meanwhile. ``interrupted`` is asked at each of those moments;
        when it answers True the clock stops there (serve stopping during a long advance).
        """
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        before = len(self.stats.invocations)
        target = self.clock.now() + timedelta(seconds=seconds)
        self.advance(0)
        self.drain(settle_in_flight=False)
        while (now := self.clock.now()) < target and not (interrupted and interrupted()):
            wake = min([target, *self._due_moments(now)])
            self.advance(max((wake - now).total_seconds(), 0.001))
            self.drain(settle_in_flight=False)
        return len(self.stats.invocations) - before

    def _due_moments(self, now: datetime) -> list[datetime]:
        """When each waiting piece of work can next move (schedules included), as clock times after ``now``."""
        wait = self._next_wait()
        moments = [now + timedelta(seconds=wait)] if wait is not None else []
        moments += [fire for s in self.schedules if (fire := s.next_fire()) is not None and fire > now]
        return moments

    def _expire_ttl_items(self) -> None:
        dynamodb = self.client("dynamodb")
        epoch = self.clock.now().timestamp()
        for table, attribute in self.deployment.ttl_attributes.items():
            keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            for item in dynamodb.scan(TableName=table).get("Items", []):
                expires = item.get(attribute, {}).get("N")
                if expires is not None and float(expires) < epoch:
                    dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})

    def running_executions(self) -> list[str]:
        sfn = self.client("stepfunctions")
        running_arns: list[str] = []
        for name, arn in self.deployment.state_machines.items():
            for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
                if execution["status"] == "RUNNING":
                    running_arns.append(f"{name}/{execution['name']}")
                elif execution["executionArn"] not in self._seen_executions:
                    self._seen_executions.add(execution["executionArn"])
                    metric = {
                        "SUCCEEDED": "ExecutionsSucceeded",
                        "FAILED": "ExecutionsFailed",
                        "TIMED_OUT": "ExecutionsTimedOut",
                        "ABORTED": "ExecutionsAborted",
                    }[execution["status"]]
                    self.metrics.put("AWS/States", metric, {"StateMachineArn": arn}, 1, unit="Count")
        return running_arns

    def _round(self) -> int:
        work = self.pending_executions.run()
        work += sum(source.poll() for source in self.stream_sources)
        work += sum(source.poll() for source in self.sqs_sources)
        work += self.async_invoker.poll()
        work += sum(schedule.poll() for schedule in self.schedules)
        return work

    def drain(self, max_rounds: int = 500, timeout_seconds: float = 60, settle_in_flight: bool = True) -> int:
        """Run the event sources until every queue, stream and execution is quiet; returns the rounds taken.

        With ``settle_in_flight``, messages waiting out a visibility timeout and async retries waiting their delay
        are reached by advancing the clock, as time would. Raises :class:`DrainTimeout` naming what is busy.
        """
        deadline = time.monotonic() + timeout_seconds
        for rounds in range(1, max_rounds + 1):
            if time.monotonic() > deadline:
                break
            if self._round():
                continue
            executions = self.running_executions()
            if executions:
                time.sleep(0.01)
                continue
            wait = self._next_wait() if settle_in_flight else None
            if wait is None:
                self._publish_queue_metrics()
                return rounds
            self.clock.advance(wait)
        raise DrainTimeout(self.busy())

    def _next_wait(self) -> float | None:
        """Seconds until in-flight work can move: a visibility timeout, a stream retry or an async retry delay."""
        waits: list[float] = []
        now = self.clock.now().timestamp()
        for source in self.sqs_sources:
            visible_at = source.next_visible_at()
            if visible_at is not None:
                waits.append(max(0.001, visible_at - now + 0.001))
        for stream in self.stream_sources:
            if stream.retry_at is not None:
                waits.append(max(0.001, (stream.retry_at - self.clock.now()).total_seconds()))
        due = self.async_invoker.next_due()
        if due is not None:
            waits.append(max(1.0, (due - self.clock.now()).total_seconds()))
        return min(waits) if waits else None

    def busy(self) -> list[str]:
        busy = [f"execution {e} running" for e in self.running_executions()]
        for source in self.sqs_sources:
            if source.in_flight():
                busy.append(f"queue {source.url.rsplit('/', 1)[-1]}: {source.in_flight()} in flight")
        busy += [f"stream of {s.mapping.function_name}: records pending" for s in self.stream_sources if not s.quiet()]
        if self.async_invoker.queue:
            busy.append(f"{len(self.async_invoker.queue)} async invocations waiting")
        return busy

    # --- observing -------------------------------------------------------------------------------------------

    def _publish_queue_metrics(self) -> None:
        sqs = self.client("sqs")
        for url in self.deployment.queue_urls.values():
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            self.metrics.put(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": url.rsplit("/", 1)[-1]},
                float(attributes["Attributes"]["ApproximateNumberOfMessages"]),
                unit="Count",
            )

    def evaluate_alarms(self, at: datetime | None = None) -> list[AlarmState]:
        """Every alarm of the stack, evaluated on the recorded metrics at ``at`` (default: now + 1 s); CloudWatch's
        copy of each alarm whose state changed is set to it."""
        self._publish_queue_metrics()
        moment = at or self.clock.now() + timedelta(seconds=1)
        states = [evaluate_alarm(alarm, self.metrics, moment) for alarm in self.deployment.alarms]
        self.cloudwatch.push_states(states)
        return states

    def publish_metrics(self) -> int:
        """Copy the datapoints recorded since the last call into CloudWatch (GetMetricData, GetMetricStatistics
        and ListMetrics answer from there); returns how many."""
        return self.cloudwatch.publish(self.metrics)

    def sync_cloudwatch(self) -> None:
        """What ``serve`` calls periodically: the alarms evaluated (on the current queue depths) and their changed
        states set in CloudWatch, and the new datapoints published there."""
        self.evaluate_alarms()
        self.publish_metrics()

    def queue_depth(self, url: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class PendingExecutions:
    """Step Functions executions run by :meth:`LocalCloud.drain`, one at a time in the order they were started.

    moto runs each execution in a thread of its own as soon as it starts; the local cloud queues it instead and
    runs it to its end when the drain reaches it. The flow is the same, but executions never race each other,
    the event sources or the caller, so a run — a chaos run under a seed included — repeats exactly.
    """

    def __init__(self) -> None:
        self._queue: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._queue)

    @contextlib.contextmanager
    def installed(self) -> Iterator[PendingExecutions]:
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        original = ExecutionWorker.start
        pending = self

        def queued(worker: Any) -> None:
            with pending._lock:
                pending._queue.append(worker._execution_logic)

        ExecutionWorker.start = queued  # type: ignore[method-assign]
        try:
            yield self
        finally:
            ExecutionWorker.start = original  # type: ignore[method-assign]

    def workers(self) -> list[Any]:
        """moto's workers of the queued executions, in the order they will run (what a saved state keeps)."""
        with self._lock:
            return [getattr(execution, "__self__", None) for execution in self._queue]

    def requeue(self, workers: list[Any]) -> None:
        """Queue the executions of moto ``workers`` again (a restored state's executions that had not run)."""
        with self._lock:
            self._queue.extend(worker._execution_logic for worker in workers)

    def run(self) -> int:
        """Run every queued execution (and those they start) to its end; returns how many ran."""
        ran = 0
        while True:
            with self._lock:
                if not self._queue:
                    return ran
                execution = self._queue.popleft()
            execution()
            ran += 1


_touched = threading.local()


def _snapshot(table: Any) -> Any:
    """What moto's transaction keeps to roll back ``table``: instead of a deep copy of the whole table (its cost
    grows with every item ever written), a shallow copy holding deep copies of only the items the transaction
    touches (moto updates items in place), and the stream's records as they were."""
    keys = getattr(_touched, "keys", {}).get(table.name, [])
    clone = copy.copy(table)
    clone.items = collections.defaultdict(dict)
    for hash_key, value in table.items.items():
        clone.items[hash_key] = dict(value) if table.has_range_key else value
    for hash_key, range_key in keys:
        current = table.items.get(hash_key)
        if table.has_range_key and isinstance(current, dict) and range_key in current:
            clone.items[hash_key][range_key] = copy.deepcopy(current[range_key])
        elif not table.has_range_key and current is not None:
            clone.items[hash_key] = copy.deepcopy(current)
    if table.stream_shard is not None:
        clone.stream_shard = copy.copy(table.stream_shard)
        clone.stream_shard.items = list(table.stream_shard.items)
        clone.stream_shard.table = clone
    return clone


@contextlib.contextmanager
def transactions_snapshot_their_items() -> Iterator[None]:
    """Make moto's TransactWriteItems keep only what it needs to roll back (see :func:`_snapshot`); its checks,
    writes and rollback are otherwise moto's own."""
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class SnapshotCopy:
        """Stands in for the ``copy`` module inside moto's DynamoDB backend."""

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            return _snapshot(value) if isinstance(value, Table) else copy.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    original_copy = getattr(dynamodb_models, "copy")  # noqa: B009 (the module's own reference to copy)
    original_transact = DynamoDBBackend.transact_write_items

    def transact(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        keys: dict[str, list[tuple[Any, Any]]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            hash_value = key.get(table.hash_key_attr)
            range_value = key.get(table.range_key_attr) if table.range_key_attr else None
            if hash_value is not None:
                keys.setdefault(table.name, []).append(
                    (DynamoType(hash_value), DynamoType(range_value) if range_value is not None else None)
                )
        _touched.keys = keys
        try:
            original_transact(backend, transact_items)
        finally:
            _touched.keys = {}

    setattr(dynamodb_models, "copy", SnapshotCopy())  # noqa: B010
    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    try:
        yield
    finally:
        setattr(dynamodb_models, "copy", original_copy)  # noqa: B010
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]


@contextlib.contextmanager
def _definitions_parsed_once() -> Iterator[None]:
    """moto parses a state machine's definition for every execution (tens of milliseconds with ANTLR); the parsed
    program is reused instead. Its Task, Pass, Choice, Succeed and Fail states keep their state in the execution's
    environment, not in the program; definitions with Map or Parallel states (which keep worker state) are parsed
    for each execution as before."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint
    parsed: dict[str, Any] = {}

    def cached(worker: Any) -> Any:
        definition = worker._evaluation_details.state_machine_details.definition
        if '"Map"' in definition or '"Parallel"' in definition:
            return original(worker)
        if definition not in parsed:
            parsed[definition] = original(worker)
        return parsed[definition]

    ExecutionWorker._get_evaluation_entrypoint = cached  # type: ignore[method-assign]
    try:
        yield
    finally:
        ExecutionWorker._get_evaluation_entrypoint = original  # type: ignore[method-assign]


@contextlib.contextmanager
def _short_step_function_retries() -> Iterator[None]:
    """Step Functions retry waits last a few milliseconds instead of seconds (the retry logic is unchanged)."""
    from types import SimpleNamespace

    import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier

    original = getattr(retrier, "time")  # noqa: B009 (the module's private reference to ``time``)
    setattr(retrier, "time", SimpleNamespace(sleep=lambda seconds: time.sleep(min(seconds, 0.001))))  # noqa: B010
    try:
        yield
    finally:
        setattr(retrier, "time", original)  # noqa: B010
