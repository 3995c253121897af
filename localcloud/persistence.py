"""Keep the local cloud across restarts: :func:`save_state` writes it to a directory, :func:`restore_state` puts it
back into a freshly deployed cloud of the same program, before anything is served.

**What is kept.** Everything moto holds for the services where the stack's state lives (:data:`BACKENDS`:
DynamoDB items and stream records, SQS messages with their receive counts, visibility and delays, SNS topics and
subscriptions, Step Functions executions and their history, CloudWatch Logs, metrics and alarms, KMS keys,
Scheduler schedules, IAM), and the engine's own state (:func:`_engine_state`: the clock, stream checkpoints,
async invocations waiting for a retry, schedules' last runs, recorded metrics and logs, how much of them and
which alarm states CloudWatch already has, executions already counted, executions queued but not yet run).
Lambda is deployed afresh: its handler code may change between runs, as with a deploy on AWS, and each
function starts cold, in a new log stream.

**Why moto's backends are pickled** rather than exported and imported through the AWS APIs: the APIs cannot write
what the event sources depend on — an SQS message's receive count and its visibility deadline, a stream record's
sequence number (the checkpoint), an execution's history — so an import would redeliver, renumber or lose them.
A pickle keeps every object as it was, and whatever moto gains later (log events, alarms) comes along. What does
not pickle is reduced in one place (:class:`_StatePickler`): locks are made anew, KMS private keys travel as DER.
The price is that a pickle reads only with the moto that wrote it, so the moto version is recorded and checked,
like the format version. A state file is code to the unpickler: restore only state you saved.

**Restore replaces** the freshly deployed backends wholesale, so the program must declare the same resources:
a fingerprint of every resource's inputs (handler code excluded) is kept with the state, and another stack,
project or resource set is refused with a one-line :class:`StateError`, as is a corrupt file. The identifiers
the deploy makes at random or from the clock (KMS key ids, subscription ARNs, stream labels) are the saved ones
after the restore; what the engine took from the fresh deploy (outputs, function environments, mappings, alarms)
is rewritten to them, so nothing points at a resource that no longer exists.

**Step Functions.** An execution queued by the engine and not yet run is saved as queued and queued again, in
its place, on restore. One caught part-way (a save not holding the event sources' lock) is stopped on restore
(ABORTED, with the reason) rather than left RUNNING forever.

**Clock.** On a virtual clock the time stands still while stopped; on a wall clock it passes, as if the cloud had
kept running (messages become visible, records age, schedules fire the runs they missed).

Save holds no lock of its own: the caller stops the event sources first (serve: hold ``ServedCloud.lock``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import io
import json
import os
import pickle
import re
import sys
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from localcloud.engine import LocalCloud

__all__ = ["BACKENDS", "FORMAT_VERSION", "STATE_FILE", "StateError", "restore_state", "save_state"]

FORMAT_VERSION = 1
STATE_FILE = "localcloud.state"
_MAGIC = b"localcloud-state\n"

#: moto's backends that hold the stack's state: label → (module, BackendDict). Step Functions is the parser
#: backend, the one that runs executions.
BACKENDS: dict[str, tuple[str, str]] = {
    "dynamodb": ("moto.dynamodb.models", "dynamodb_backends"),
    "sqs": ("moto.sqs.models", "sqs_backends"),
    "sns": ("moto.sns.models", "sns_backends"),
    "stepfunctions": ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"),
    "logs": ("moto.logs.models", "logs_backends"),
    "cloudwatch": ("moto.cloudwatch.models", "cloudwatch_backends"),
    "kms": ("moto.kms.models", "kms_backends"),
    "scheduler": ("moto.scheduler.models", "scheduler_backends"),
    "iam": ("moto.iam.models", "iam_backends"),
}

#: Inputs that do not make a different resource: the handler code (a new deploy keeps the state, as on AWS).
_IGNORED_INPUTS = frozenset({"code", "sourceCodeHash"})
#: What the deploy makes at random or from the clock: uuids (KMS keys, subscriptions) and stream labels.
_VOLATILE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?<=/stream/)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?"
)


class StateError(ValueError):
    """The state directory cannot be used; the message is the one line the user sees."""


# --- saving ------------------------------------------------------------------------------------------------------


def save_state(cloud: LocalCloud, directory: Path) -> None:
    """Write the cloud's state to ``directory`` (created if needed), atomically: a temporary file, then a rename.

    The event sources must be still (serve: hold ``ServedCloud.lock``). Requests served meanwhile are not
    blocked: one that lands mid-save may or may not be in it.
    """
    directory = Path(directory)
    if cloud.program is None:
        raise StateError("nothing is deployed yet: there is no state to save")
    header = {
        "format": FORMAT_VERSION,
        "project": cloud.program.project,
        "stack": cloud.stack,
        "moto": _moto_version(),
        "saved_at": datetime.now(UTC).isoformat(),
        "clock": cloud.clock.now().isoformat(),
        "summary": _summary(cloud),
        **_fingerprint(cloud),
    }
    payload = zlib.compress(_pickled({"backends": _backends(), "engine": _engine_state(cloud)}), 1)
    header["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    temporary = directory / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            file.write(_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(directory / STATE_FILE)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise StateError(f"cannot write the state to {directory}: {error.strerror or error}") from None


def _pickled(state: dict[str, Any]) -> bytes:
    """The state pickled. A request served meanwhile may change one of moto's dicts under the pickler: it tries
    again (a few times). Anything that does not pickle is a :class:`StateError` naming it."""
    attempt = 0
    while True:
        attempt += 1
        buffer = io.BytesIO()
        try:
            _StatePickler(buffer, protocol=5).dump(state)
            return buffer.getvalue()
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == 5:
                raise
            time.sleep(0.01)
        except (TypeError, AttributeError, pickle.PicklingError) as error:
            raise StateError(f"cannot save the state: {type(error).__name__}: {error}") from error


def _backends() -> dict[str, dict[str, dict[str, Any]]]:
    """Every account's and region's backend of :data:`BACKENDS` (label → account → region → backend)."""
    return {
        label: {account: dict(regions) for account, regions in _backend_dict(label).items() if regions}
        for label in BACKENDS
    }


def _backend_dict(label: str) -> Any:
    module, attribute = BACKENDS[label]
    return getattr(importlib.import_module(module), attribute)


def _engine_state(cloud: LocalCloud) -> dict[str, Any]:
    """The engine's own state: the one list of what survives a restart besides moto (see :func:`_apply_engine`)."""
    return {
        "clock": {"now": cloud.clock.now(), "wall": datetime.now(UTC)},
        "streams": {
            _mapping_key(s.mapping): {
                "checkpoints": dict(s.checkpoints),
                "attempts": s.attempts,
                "limit": s.limit,
                "retry_at": s.retry_at,
            }
            for s in cloud.stream_sources
        },
        "schedules": {
            f"{s.record.group}/{s.record.name}": {"origin": s.origin, "last": s.last, "fired": list(s.fired)}
            for s in cloud.schedules
        },
        "async_invocations": list(cloud.async_invoker.queue),
        "queued_executions": cloud.pending_executions.workers(),
        "seen_executions": sorted(cloud._seen_executions),
        "metrics": list(cloud.metrics.points),
        "logs": {function: list(lines) for function, lines in cloud.logs.logs.items()},
        "log_times": {function: list(times) for function, times in cloud.logs.times.items()},
        "cloudwatch": {"published": cloud.cloudwatch.published, "states": dict(cloud.cloudwatch.states)},
    }


def _summary(cloud: LocalCloud) -> dict[str, int]:
    dynamodb, sqs = cloud.client("dynamodb"), cloud.client("sqs")
    tables = dynamodb.list_tables()["TableNames"]
    counts = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    messages = 0
    for url in cloud.deployment.queue_urls.values():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(counts))["Attributes"]
        messages += sum(int(attributes.get(name, 0)) for name in counts)
    return {
        "tables": len(tables),
        "items": sum(int(dynamodb.describe_table(TableName=t)["Table"]["ItemCount"]) for t in tables),
        "queues": len(cloud.deployment.queue_urls),
        "messages": messages,
        "executions": sum(len(getattr(machine, "executions", [])) for machine in _state_machines()),
    }


class _StatePickler(pickle.Pickler):
    """Pickles moto's objects: locks and conditions are made anew, events keep whether they are set, private keys
    (KMS) travel as DER."""

    def reducer_override(self, obj: Any) -> Any:
        kind = _LOCKS.get(type(obj))
        if kind is not None:
            return _new_lock, (kind,)
        if isinstance(obj, threading.Event):
            return _new_event, (obj.is_set(),)
        if isinstance(obj, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            der = obj.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (der,)
        return NotImplemented


_LOCKS: dict[type, str] = {
    type(threading.Lock()): "lock",
    type(threading.RLock()): "rlock",
    threading.Condition: "condition",
}


def _new_lock(kind: str) -> Any:
    return {"lock": threading.Lock, "rlock": threading.RLock, "condition": threading.Condition}[kind]()


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, None)


# --- the program's fingerprint -----------------------------------------------------------------------------------


def _fingerprint(cloud: LocalCloud) -> dict[str, Any]:
    """``resources``: a digest of each declared resource's inputs, volatile identifiers masked (what must match);
    ``identifiers``: what the deploy computed for each (ids, ARNs), to map the fresh deploy's onto the saved."""
    assert cloud.program is not None
    resources: dict[str, str] = {}
    identifiers: dict[str, str] = {}
    for resource in cloud.program.resources:
        if not resource.custom:
            continue
        key = f"{resource.type} {resource.name}"
        inputs = {k: v for k, v in resource.inputs.items() if k not in _IGNORED_INPUTS}
        masked = _VOLATILE.sub("<volatile>", json.dumps(inputs, sort_keys=True, default=_opaque))
        resources[key] = hashlib.sha256(masked.encode()).hexdigest()[:16]
        computed = {k: v for k, v in resource.state.items() if k not in resource.inputs}
        for path, value in _leaves({"id": resource.id, **computed}, key):
            identifiers[path] = value
    return {"resources": resources, "identifiers": identifiers}


def _opaque(value: Any) -> str:
    return type(value).__name__


def _leaves(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k], f"{path}/{k}")]
    if isinstance(value, list | tuple):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, f"{path}/{i}")]
    return [(path, value)] if isinstance(value, str) else []


def _difference(saved: dict[str, str], fresh: dict[str, str]) -> str | None:
    """What differs between two programs' resources, in a few words (None: the same)."""
    added = sorted(set(fresh) - set(saved))
    removed = sorted(set(saved) - set(fresh))
    changed = sorted(k for k in set(saved) & set(fresh) if saved[k] != fresh[k])
    if not (added or removed or changed):
        return None
    parts = [
        f"{len(items)} {what} (first: {items[0]})"
        for what, items in (("changed", changed), ("added", added), ("removed", removed))
        if items
    ]
    return "; ".join(parts)


# --- restoring ---------------------------------------------------------------------------------------------------


def check_state_directory(directory: Path, stack: str, project: str) -> None:
    """What can be known before deploying, so that serve refuses at once rather than after a deploy: ``directory``
    is a directory it can write to, and the state it holds (if any) is readable and saved by this stack of this
    project, in this format, with this moto. Whether the program's resources still fit is checked by
    :func:`restore_state`."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise StateError(f"{directory} is a file, not a state directory: give a directory to --state")
    probe = directory / f".{STATE_FILE}.{os.getpid()}.probe"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise StateError(f"cannot write the state to {directory}: {error.strerror or error}") from None
    path = directory / STATE_FILE
    if not path.exists():
        return
    header, _ = _read(path)
    refusal = _header_refusal(header, project, stack, directory)
    if refusal is not None:
        raise StateError(refusal)


def restore_state(cloud: LocalCloud, directory: Path) -> str | None:
    """Put the state saved in ``directory`` into ``cloud``, freshly deployed and not yet serving; returns one line
    describing it, or None when the directory holds no state yet. Raises :class:`StateError` when it does not fit."""
    directory = Path(directory)
    path = directory / STATE_FILE
    if directory.exists() and not directory.is_dir():
        raise StateError(f"{directory} is a file, not a state directory: give a directory to --state")
    if not path.exists():
        return None
    header, payload = _read(path)
    assert cloud.program is not None
    fingerprint = _fingerprint(cloud)
    refusal = _refusal(header, cloud, fingerprint["resources"], directory)
    if refusal is not None:
        raise StateError(refusal)
    try:
        state = pickle.loads(zlib.decompress(payload))
        backends, engine = state["backends"], state["engine"]
    except Exception as error:
        raise StateError(
            f"{path} cannot be read ({type(error).__name__}); delete it or use another --state directory"
        ) from None
    _replace_backends(backends)
    _translate_deployment(cloud, _identifier_pairs(fingerprint["identifiers"], header["identifiers"]))
    _apply_engine(cloud, engine)
    return _description(header, directory)


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    unreadable = f"{path} is not a readable local cloud state"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StateError(f"cannot read {path}: {error.strerror or error}") from None
    if not data.startswith(_MAGIC):
        raise StateError(f"{unreadable} (no state header); delete it or use another --state directory")
    line, _, payload = data[len(_MAGIC) :].partition(b"\n")
    try:
        header = json.loads(line)
        if not isinstance(header, dict):
            raise ValueError("not an object")
    except ValueError:
        raise StateError(f"{unreadable} (its header is damaged); delete it or use another --state directory") from None
    if header.get("format") == FORMAT_VERSION and header.get("payload_sha256") != hashlib.sha256(payload).hexdigest():
        raise StateError(f"{unreadable} (truncated or damaged); delete it or use another --state directory")
    return header, payload


def _header_refusal(header: dict[str, Any], project: str, stack: str, directory: Path) -> str | None:
    """Why the saved state does not fit, from its header alone (knowable before a deploy); None when it may."""
    advice = "use another --state directory or delete it"
    if header.get("format") != FORMAT_VERSION:
        found = header.get("format")
        return f"{directory} holds state in format {found!r}; this local cloud reads {FORMAT_VERSION}: {advice}"
    saved_project, saved_stack = header.get("project"), header.get("stack")
    if (saved_project, saved_stack) != (project, stack):
        here = f"{stack} of {project}"
        return f"{directory} holds the state of stack {saved_stack} of project {saved_project}, not {here}: {advice}"
    if header.get("moto") != _moto_version():
        return f"{directory} was saved with moto {header.get('moto')}, this is moto {_moto_version()}: {advice}"
    return None


def _refusal(header: dict[str, Any], cloud: LocalCloud, resources: dict[str, str], directory: Path) -> str | None:
    """Why the saved state does not fit this cloud, in one line; None when it does."""
    assert cloud.program is not None
    refusal = _header_refusal(header, cloud.program.project, cloud.stack, directory)
    if refusal is not None:
        return refusal
    advice = "use another --state directory or delete it"
    difference = _difference(header.get("resources", {}), resources)
    if difference is not None:
        return f"{directory} holds the state of a program whose resources differ ({difference}): {advice}"
    return None


def _replace_backends(backends: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The saved backends in place of the fresh ones, for every account and region they cover."""
    for label, accounts in backends.items():
        backend_dict = _backend_dict(label)
        for account, regions in accounts.items():
            per_account = backend_dict[account]
            per_account.clear()
            for region, backend in regions.items():
                per_account[region] = backend
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    for regions in dynamodbstreams_backends.values():  # iterators of the fresh tables' streams
        for streams in regions.values():
            streams.shard_iterators.clear()


def _identifier_pairs(fresh: dict[str, str], saved: dict[str, str]) -> dict[str, str]:
    """Fresh deploy's identifier → the saved one, where the deploy made them differently (random, or timed)."""
    return {
        fresh[path]: saved[path]
        for path in fresh.keys() & saved.keys()
        if fresh[path] != saved[path] and len(fresh[path]) >= 8
    }


def _translate(value: Any, pairs: dict[str, str]) -> Any:
    if isinstance(value, str):
        for fresh in sorted(pairs, key=len, reverse=True):
            if fresh in value:
                value = value.replace(fresh, pairs[fresh])
        return value
    if isinstance(value, dict):
        return {_translate(k, pairs): _translate(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(item, pairs) for item in value]
    return value


def _translate_fields(record: Any, pairs: dict[str, str]) -> None:
    for field in dataclasses.fields(record):
        setattr(record, field.name, _translate(getattr(record, field.name), pairs))


def _translate_deployment(cloud: LocalCloud, pairs: dict[str, str]) -> None:
    """Point what the engine took from the fresh deploy at the saved identifiers (moto's Lambda too)."""
    if not pairs:
        return
    cloud.outputs = _translate(cloud.outputs, pairs)
    deployment = cloud.deployment
    for name, function in deployment.functions.items():
        environment = _translate(function.environment, pairs)
        if environment != function.environment:
            function.environment = environment
            cloud.client("lambda").update_function_configuration(
                FunctionName=name, Environment={"Variables": environment}
            )
    records = [
        *deployment.mappings,
        *deployment.schedules,
        *deployment.async_configs.values(),
        *deployment.roles.values(),
    ]
    for record in [*records, *(cloud.program.resources if cloud.program else [])]:  # the program: for a new save
        _translate_fields(record, pairs)
    deployment.async_configs = _translate(deployment.async_configs, pairs)
    deployment.alarms = _translate(deployment.alarms, pairs)
    deployment.queue_urls = _translate(deployment.queue_urls, pairs)
    deployment.state_machines = _translate(deployment.state_machines, pairs)


def _apply_engine(cloud: LocalCloud, engine: dict[str, Any]) -> None:
    """The saved engine state into ``cloud`` (the counterpart of :func:`_engine_state`)."""
    clock = engine["clock"]
    elapsed = datetime.now(UTC) - clock["wall"] if cloud.clock.tied_to_wall else None
    cloud.clock.resume_at(clock["now"] + elapsed if elapsed is not None else clock["now"])
    streams = engine["streams"]
    for source in cloud.stream_sources:
        saved = streams.get(_mapping_key(source.mapping))
        if saved is not None:
            source.checkpoints = saved["checkpoints"]
            source.attempts, source.limit, source.retry_at = saved["attempts"], saved["limit"], saved["retry_at"]
    schedules = engine["schedules"]
    for schedule in cloud.schedules:
        saved = schedules.get(f"{schedule.record.group}/{schedule.record.name}")
        if saved is not None:
            schedule.origin, schedule.last, schedule.fired = saved["origin"], saved["last"], saved["fired"]
    cloud.async_invoker.queue = list(engine["async_invocations"])
    cloud._seen_executions = set(engine["seen_executions"])
    for point in engine["metrics"]:  # through put(), which indexes each metric's series
        cloud.metrics.put(
            point.namespace, point.name, dict(point.dimensions), point.value, unit=point.unit, timestamp=point.timestamp
        )
    cloud.logs.logs = {function: list(lines) for function, lines in engine["logs"].items()}
    cloud.logs.times = {function: list(times) for function, times in engine["log_times"].items()}
    cloud.cloudwatch.published = engine["cloudwatch"]["published"]
    cloud.cloudwatch.states = dict(engine["cloudwatch"]["states"])
    queued = [worker for worker in engine["queued_executions"] if worker is not None]
    cloud.pending_executions.requeue(queued)
    _stop_executions_caught_part_way(cloud, {id(worker) for worker in queued})


def _stop_executions_caught_part_way(cloud: LocalCloud, queued: set[int]) -> None:
    """RUNNING executions that are not queued were saved part-way: nothing would ever finish them, so they are
    stopped (ABORTED, as StopExecution leaves them); one that had not started is queued to run."""
    cause = "the local cloud was saved while this execution ran; it cannot resume after the restore"
    for machine in _state_machines():
        for execution in getattr(machine, "executions", []):
            worker = execution.exec_worker
            if execution.status != "RUNNING" or worker is None or id(worker) in queued:
                continue
            if worker.env is None:
                cloud.pending_executions.requeue([worker])
                continue
            worker.env.set_stop(stop_date=cloud.clock.now(), cause=cause, error="States.Aborted")
            worker._execution_communication.terminated()
            execution.error, execution.cause = "States.Aborted", cause


def _state_machines() -> list[Any]:
    """moto's Step Functions state machines, in every account and region (their ``executions`` are moto's)."""
    return [
        machine
        for regions in _backend_dict("stepfunctions").values()
        for backend in regions.values()
        for machine in backend.state_machines
    ]


def _description(header: dict[str, Any], directory: Path) -> str:
    saved_at = datetime.fromisoformat(header["saved_at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    summary = header.get("summary", {})
    return (
        f"restored from {directory} (saved {saved_at}): {summary.get('items', 0)} items in "
        f"{summary.get('tables', 0)} tables, {summary.get('messages', 0)} messages queued, "
        f"{summary.get('executions', 0)} executions"
    )


def _mapping_key(mapping: Any) -> str:
    return f"{mapping.function_name} {mapping.source_arn}"


def _moto_version() -> str:
    from importlib.metadata import version

    with contextlib.suppress(Exception):
        return version("moto")
    return str(getattr(sys.modules.get("moto"), "__version__", "unknown"))
