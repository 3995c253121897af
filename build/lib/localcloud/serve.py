"""``python -m localcloud serve``: the deployed stack served as AWS endpoints on 127.0.0.1.

moto's threaded server answers boto3 and the AWS CLI (``--endpoint-url``) on loopback, sharing state with the
local cloud; the event sources run in the background on wall-clock time, so a command sent from outside flows
through streams, topics, queues and the saga as it would on AWS. When ready, the stack outputs are
written as JSON to the outputs file and one line says where it listens. SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from localcloud.clock import Clock
from localcloud.engine import LocalCloud

__all__ = ["serve"]

TICK_SECONDS = 0.2


def _run_sources(cloud: LocalCloud, stop: threading.Event) -> None:
    """The event sources on wall-clock time: poll, fire due schedules and expire TTL items, until stopped."""
    while not stop.is_set():
        try:
            cloud.advance(0)
            cloud.drain(settle_in_flight=False, timeout_seconds=30)
        except Exception as error:  # keep serving; the failure is visible in the console
            print(f"localcloud: event sources: {error}", file=sys.stderr, flush=True)
        stop.wait(TICK_SECONDS)


def serve(
    stack: str = "dev", port: int = 4566, outputs_file: Path | None = None, project: Path | str | None = None
) -> int:
    from moto.server import ThreadedMotoServer

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalCloud.started(stack, clock=Clock(tied_to_wall=True), project=project) as cloud:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            try:
                outputs: dict[str, Any] = dict(cloud.outputs)
                if outputs_file is not None:
                    outputs_file.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
                where = f" (stack outputs in {outputs_file})" if outputs_file is not None else ""
                print(
                    f"localcloud: stack {stack} listening on http://127.0.0.1:{port}{where}; Ctrl-C stops it",
                    flush=True,
                )
                worker = threading.Thread(target=_run_sources, args=(cloud, stop), name="event-sources", daemon=True)
                worker.start()
                stop.wait()
                worker.join(timeout=10)
            finally:
                server.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("localcloud: stopped", flush=True)
    return 0
