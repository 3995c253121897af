"""What ``serve`` answers on loopback: moto's AWS endpoints, with the local cloud's own in front of them.

Every request passes :class:`LocalEndpoints` first. ``/_localcloud/...`` is the local cloud's control API (its
health and its clock); Lambda's Invoke goes to the local cloud's own implementation, so that it answers as Lambda
does; everything else is moto's. Responses of the control API are JSON; an error is ``{"message": ...}`` with a
4xx status.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from localcloud.engine import DrainTimeout
from localcloud.lambda_api import INVOKE_PATH, invoke_endpoint

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from localcloud.engine import LocalCloud

__all__ = ["CONTROL_PREFIX", "LocalEndpoints", "ServedCloud"]

CONTROL_PREFIX = "/_localcloud/"
#: The longest a single clock advance may be: a year of local time.
MAX_ADVANCE_SECONDS = 366 * 24 * 3600


@dataclass
class ServedCloud:
    """The cloud being served and what the control API reports about it. ``lock`` is held by whoever moves the
    clock or runs the event sources, so an advance never interleaves with the background polling."""

    cloud: LocalCloud
    lock: threading.Lock
    clock_mode: str
    state: str
    #: Set when serve stops: a clock advance under way ends at the next moment it reaches.
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Set after every request: the idle event sources wake to carry on what it started.
    activity: threading.Event = field(default_factory=threading.Event)

    def health(self) -> dict[str, Any]:
        return {
            "ready": True,
            "stack": self.cloud.stack,
            "clock": self.clock(),
            "state": self.state,
            "functions": sorted(self.cloud.deployment.functions),
        }

    def clock(self) -> dict[str, Any]:
        return {"now": self.cloud.clock.now().isoformat(timespec="milliseconds"), "mode": self.clock_mode}


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body) + "\n", status=status, mimetype="application/json")


class LocalEndpoints:
    """The WSGI application ``serve`` runs: the control API and Lambda's Invoke here, the rest to ``moto_app``."""

    def __init__(self, moto_app: WSGIApplication, served: ServedCloud) -> None:
        self.moto_app = moto_app
        self.served = served
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "health"): lambda request: _json(200, self.served.health()),
            ("GET", "clock"): lambda request: _json(200, self.served.clock()),
            ("POST", "clock/advance"): self._advance,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._answer(environ, start_response)
        finally:
            self.served.activity.set()

    def _answer(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL_PREFIX):
            return self._control(Request(environ))(environ, start_response)
        invoke = INVOKE_PATH.match(path) if environ.get("REQUEST_METHOD") == "POST" else None
        if invoke is not None:
            served = self.served
            answer = invoke_endpoint(served.cloud, Request(environ), invoke["function"], engine_lock=served.lock)
            return answer(environ, start_response)
        return self.moto_app(environ, start_response)

    def _control(self, request: Request) -> Response:
        route = request.path.removeprefix(CONTROL_PREFIX).strip("/")
        handler = self._routes.get((request.method, route))
        if handler is None:
            known = ", ".join(f"{method} {CONTROL_PREFIX}{path}" for method, path in self._routes)
            return _json(404, {"message": f"no {request.method} {request.path} here; the control API has {known}"})
        return handler(request)

    def _advance(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json(400, {"message": 'the body must be JSON: {"seconds": <number>}'})
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            return _json(400, {"message": f"seconds must be a number from 0 to {MAX_ADVANCE_SECONDS}; got {seconds!r}"})
        served = self.served
        with served.lock:
            before = served.cloud.clock.now()
            try:
                invocations = served.cloud.run_for(float(seconds), interrupted=served.stopping.is_set)
            except DrainTimeout as busy:
                return _json(503, {"message": f"the clock moved, but the event sources are {busy}"})
            after = served.cloud.clock.now()
            if served.stopping.is_set():
                moved = (after - before).total_seconds()
                return _json(503, {"message": f"serve is stopping: the clock stopped after {moved:g} s"})
            served.cloud.sync_cloudwatch()  # alarms and metrics as of the new time, before the answer
        return _json(
            200,
            {
                **served.clock(),
                "advanced_seconds": round((after - before).total_seconds(), 3),
                "invocations": invocations,
            },
        )
