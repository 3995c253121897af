"""A real ``python -m localcloud serve`` (or other command) in a subprocess, read line by line with bounded waits."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

import boto3

ROOT = Path(__file__).parents[2]
#: The longest any test waits for serve to say something (a deploy takes a few seconds; CI machines are slow).
WAIT_SECONDS = 90


def endpoint_of(ready: str) -> str:
    """The URL serve's ready line says it listens on."""
    match = re.search(r"(http://127\.0\.0\.1:\d+)", ready)
    assert match, ready
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalcloudProcess:
    """``python -m localcloud <args>`` from the repository root; stdout and stderr collected as they come."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self._lines.put((name, line.rstrip("\n")))

    def _collect(self, timeout: float) -> tuple[str, str] | None:
        try:
            name, line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        (self.stdout if name == "stdout" else self.stderr).append(line)
        return name, line

    def wait_for_line(self, text: str, timeout: float = WAIT_SECONDS) -> str:
        """The first line (stdout or stderr) containing ``text``; fails with everything said so far if none comes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self._collect(min(left, 0.5))
            if got is not None and text in got[1]:
                return got[1]
            if got is None and self.process.poll() is not None and self._lines.empty():
                break
        raise AssertionError(f"no line with {text!r}; stdout={self.stdout} stderr={self.stderr}")

    def lines_with(self, text: str) -> list[str]:
        """Every line said so far (stdout and stderr) that contains ``text``."""
        while self._collect(0) is not None:
            pass
        return [line for line in self.stdout + self.stderr if text in line]

    def finish(self, timeout: float = WAIT_SECONDS) -> int:
        """Wait (bounded) for the process to end; collect what it said. Kills it and fails if it does not end."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"still running after {timeout} s; stdout={self.stdout} stderr={self.stderr}"
            ) from None
        for reader in self._readers:
            reader.join(timeout=5)
        while self._collect(0) is not None:
            pass
        return code

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.finish()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run_localcloud(*args: str, cwd: Path = ROOT, timeout: float = WAIT_SECONDS) -> tuple[int, list[str], list[str]]:
    """Run a command to its end: exit status, stdout lines, stderr lines."""
    with LocalcloudProcess(*args, cwd=cwd) as process:
        code = process.finish(timeout)
        return code, process.stdout, process.stderr


def session(region: str = "us-east-1") -> boto3.Session:
    return boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)


def declared_outputs() -> set[str]:
    """The names the program exports, read from the program itself."""
    return set(re.findall(r'pulumi\.export\("([^"]+)"', (ROOT / "__main__.py").read_text()))


def until(probe: Any, timeout: float = 60) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.2)
    raise AssertionError(f"nothing within {timeout} s from {probe}")


@dataclass
class Served:
    process: LocalcloudProcess
    endpoint: str
    outputs: dict[str, Any]
    region: str = "us-east-1"

    def client(self, service: str) -> Any:
        return session(self.region).client(service, endpoint_url=self.endpoint)


def placed_order(virtual: Served, customer: str) -> tuple[str, str]:
    """Place an order through Lambda's API; the function's name and the request id Lambda answered with."""
    reply = virtual.client("lambda").invoke(
        FunctionName=virtual.outputs["place_order_function"],
        Payload=json.dumps({"customer_id": customer, "items": [{"sku": "sku-pear", "qty": 1}], "total": 3}),
    )
    assert json.loads(reply["Payload"].read())["ok"] is True
    return virtual.outputs["place_order_function"], reply["ResponseMetadata"]["RequestId"]
