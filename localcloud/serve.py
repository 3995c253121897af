"""``python -m localcloud serve``: the deployed stack served as AWS endpoints on 127.0.0.1.

The port is taken first, so a port in use fails in one line before anything is deployed. Then the stack is
deployed, and moto's endpoints answer boto3 and the AWS CLI (``--endpoint-url``) behind the local cloud's own
(:mod:`localcloud.endpoints`: Lambda's Invoke, the clock, health), sharing state with the local cloud. The event
sources run in the background, so a command sent from outside flows through streams, topics, queues and the saga
as it would on AWS. When ready, the stack outputs are written to the outputs file and one line says where it
listens, on which clock and where its state lives. The first SIGINT or SIGTERM stops it, whatever it is doing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from localcloud.clock import Clock
from localcloud.endpoints import LocalEndpoints, ServedCloud
from localcloud.engine import DrainTimeout, LocalCloud
from localcloud.persistence import check_state_directory, restore_state, save_state
from localcloud.program import project_name

__all__ = ["ServeError", "ServeOptions", "serve"]

HOST = "127.0.0.1"
TICK_SECONDS = 0.2
#: The longest the event sources sleep while nothing happens (work that falls due on the wall clock waits at most
#: this long for its poll).
IDLE_TICK_SECONDS = 2.0
#: How often metrics and alarm states are brought up to date in the local CloudWatch.
SYNC_SECONDS = 1.0
#: How often ``--state`` saves while serving (it also saves when serve stops).
SAVE_SECONDS = 30.0
#: The longest serve waits for its threads when it stops (a clock advance ends at its next due moment).
JOIN_SECONDS = 5.0
CLOCK_MODES = ("wall", "virtual")


class ServeError(Exception):
    """serve cannot start; the message is the one line the user sees."""


@dataclass(frozen=True)
class ServeOptions:
    stack: str = "dev"
    port: int = 4566
    outputs_file: Path | None = None
    project: Path | str | None = None
    clock: str = "wall"
    echo_logs: bool = False
    reload: bool = False
    state_dir: Path | None = None


def listening_socket(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (0: a free port), or a :class:`ServeError` saying why not."""
    if not 0 <= port <= 65535:
        raise ServeError(f"port {port} is out of range: use 1-65535, or 0 for a free port")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {HOST} is in use (another serve, LocalStack?): stop it or choose --port"
            ) from None
        raise ServeError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
    return listener


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, serving: threading.Event) -> Iterator[None]:
    """The first SIGINT or SIGTERM stops serve. Before it serves, the process ends at once, with status 128 + the
    signal: the deploy runs inside Pulumi's event loop, which swallows or mangles an exception raised into it (a
    hang or a traceback), and nothing has been served or saved yet. Once it serves, ``stop`` is set and serve stops
    cleanly (saving its state with ``--state``). Later signals are ignored while it stops."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            return
        stop.set()
        if not serving.is_set():
            print(f"localcloud: stopped by {signal.Signals(signum).name} before the stack was served", flush=True)
            sys.stderr.flush()
            os._exit(128 + signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, original in previous.items():
            signal.signal(signum, original)


def _run_sources(served: ServedCloud, stop: threading.Event, options: ServeOptions) -> None:
    """The event sources, in the background: poll, fire due schedules and expire TTL items; at most every second, bring
    CloudWatch up to date (metrics, alarm states); with ``--reload``, load handler code edited on disk; with
    ``--state``, save now and then (a crash loses at most that much). Until stopped."""
    cloud = served.cloud
    next_sync = 0.0
    next_save = time.monotonic() + SAVE_SECONDS
    tick = TICK_SECONDS
    while not stop.is_set():
        invocations = len(cloud.stats.invocations)
        try:
            if options.state_dir is not None and time.monotonic() >= next_save:
                next_save = time.monotonic() + SAVE_SECONDS  # a failed save is tried again then, not every tick
                _save(served, options.state_dir)
            with served.lock:
                if options.reload and (reloaded := cloud.reload_changed_code()):
                    print(f"localcloud: reloaded {', '.join(reloaded)}", flush=True)
                cloud.advance(0)
                with contextlib.suppress(DrainTimeout):  # work left over: the next tick carries on with it
                    cloud.drain(settle_in_flight=False, timeout_seconds=1)
                if time.monotonic() >= next_sync:
                    cloud.sync_cloudwatch()
                    next_sync = time.monotonic() + SYNC_SECONDS
        except Exception as error:  # keep serving; the failure is visible in the console
            print(f"localcloud: event sources: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        # Idle, the polls back off (a poll of every queue and stream costs a few tens of milliseconds); a request
        # or an invocation brings them back to every TICK_SECONDS.
        tick = TICK_SECONDS if len(cloud.stats.invocations) != invocations else min(tick * 2, IDLE_TICK_SECONDS)
        if served.activity.wait(tick):
            served.activity.clear()
            tick = TICK_SECONDS


def _ready_line(options: ServeOptions, port: int, state: str) -> str:
    parts = [
        f"localcloud: stack {options.stack} listening on http://{HOST}:{port}",
        f"clock: {options.clock}",
        f"state: {state}",
    ]
    if options.outputs_file is not None:
        parts.append(f"outputs: {options.outputs_file}")
    return " · ".join(parts) + " · Ctrl-C stops it"


def _state(cloud: LocalCloud, options: ServeOptions) -> str:
    """Restore the saved state when there is one; what the ready line says about state."""
    if options.state_dir is None:
        return "in memory (lost when serve stops; --state DIR keeps it)"
    restored = restore_state(cloud, options.state_dir)
    if restored is None:
        return f"new, saved to {options.state_dir} every {SAVE_SECONDS:g} s and when serve stops"
    return f"{restored}; saved every {SAVE_SECONDS:g} s and when serve stops"


def _save(served: ServedCloud, directory: Path) -> None:
    with served.lock:
        save_state(served.cloud, directory)


def _serve_cloud(cloud: LocalCloud, options: ServeOptions, listener: socket.socket, stop: threading.Event) -> None:
    """Serve ``cloud`` on ``listener`` until ``stop``; then save its state when asked to."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    served = ServedCloud(cloud, threading.Lock(), options.clock, _state(cloud, options), stopping=stop)
    app = LocalEndpoints(DomainDispatcherApplication(create_backend_app), served)
    server = make_server(HOST, 0, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno())
    listener.close()  # the server holds its own duplicate of the socket
    port = int(server.server_address[1])
    if options.outputs_file is not None:  # after the restore: the outputs name the restored resources
        outputs: dict[str, Any] = dict(cloud.outputs)
        options.outputs_file.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    threads = [
        threading.Thread(target=server.serve_forever, name="endpoints", daemon=True),
        threading.Thread(target=_run_sources, args=(served, stop, options), name="event-sources", daemon=True),
    ]
    for thread in threads:
        thread.start()
    print(_ready_line(options, port, served.state), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        served.activity.set()  # wake the event sources: they see ``stop`` and end
        server.shutdown()
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)
    if options.state_dir is not None:
        _save(served, options.state_dir)
        print(f"localcloud: state saved to {options.state_dir}", flush=True)


def serve(options: ServeOptions) -> int:
    """Serve the stack until the first SIGINT or SIGTERM; returns the exit status (0 once it has served)."""
    if options.clock not in CLOCK_MODES:
        raise ServeError(f"unknown clock {options.clock!r}: use wall or virtual")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the console
    stop, serving = threading.Event(), threading.Event()
    listener = listening_socket(options.port)
    if options.state_dir is not None:
        try:
            check_state_directory(options.state_dir, options.stack, project_name(options.project))
        except Exception:
            listener.close()
            raise
    try:
        with _stop_on_signals(stop, serving):
            print(f"localcloud: deploying stack {options.stack} into the local cloud…", flush=True)
            clock = Clock(tied_to_wall=options.clock == "wall")
            with LocalCloud.started(
                options.stack, clock=clock, echo_logs=options.echo_logs, project=options.project
            ) as cloud:
                serving.set()
                _serve_cloud(cloud, options, listener, stop)
    finally:
        listener.close()
    print("localcloud: stopped", flush=True)
    return 0
