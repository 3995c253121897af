"""``python -m localcloud clock [advance DURATION]``: read or move the clock of a running ``serve``.

Talks to the control API of :mod:`localcloud.endpoints` over HTTP (the standard library's client), so it works
from any shell while ``serve`` runs. Advancing lets that much local time pass with the event sources running
(visibility timeouts end, retries come due, schedules fire, each at its own moment), then prints the new time.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from typing import Any

from localcloud.endpoints import CONTROL_PREFIX

__all__ = ["ClockCommandError", "advance", "parse_duration", "show"]

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


class ClockCommandError(Exception):
    """The clock command cannot do what was asked; the message is the one line the user sees."""


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``2h``, ``1d`` or a combination such as ``1h30m``."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return float(cleaned)
    if not cleaned or _PART.sub("", cleaned):
        raise ValueError(f"{text!r} is not a duration: use e.g. 90s, 15m, 2h, 1d or 1h30m")
    return sum(float(amount) * _UNITS[unit] for amount, unit in _PART.findall(cleaned))


def _call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = endpoint.rstrip("/") + CONTROL_PREFIX + path
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("message", error.reason)
        except ValueError:
            message = f"HTTP {error.code} {error.reason}: is {endpoint} a local cloud?"
        raise ClockCommandError(str(message)) from None
    except http.client.RemoteDisconnected:
        raise ClockCommandError(f"{endpoint} closed the connection before answering: serve stopped meanwhile") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise ClockCommandError(
            f"no local cloud answers at {endpoint} ({reason}); start one with: python3 -m localcloud serve"
        ) from None
    except ValueError:
        raise ClockCommandError(f"{endpoint} answered something that is not the local cloud's JSON") from None


def show(endpoint: str = DEFAULT_ENDPOINT) -> str:
    clock = _call(endpoint, "GET", "clock")
    return f"local clock: {clock['now']} ({clock['mode']})"


def advance(seconds: float, endpoint: str = DEFAULT_ENDPOINT) -> str:
    moved = _call(endpoint, "POST", "clock/advance", {"seconds": seconds})
    return (
        f"local clock: {moved['now']} ({moved['mode']}), advanced {moved['advanced_seconds']:g} s, "
        f"{moved['invocations']} invocations meanwhile"
    )
