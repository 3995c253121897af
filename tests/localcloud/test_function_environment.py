"""Each invocation sees its function's environment variables; no other thread ever does, nor a half-restored
process environment (Step Functions runs tasks in threads while the main thread keeps calling boto3)."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.function_environment import installed
from localcloud.lambda_runtime import LocalFunction

PROBE = """
import os

def handler(event, context):
    seen = {
        "own": os.environ.get("PROBE_NAME"),
        "getenv": os.getenv("PROBE_NAME"),
        "lambda_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "only_a": "ONLY_A" in os.environ,
        "copied": dict(os.environ).get("PROBE_NAME"),
        "process_only": os.environ.get("PROCESS_ONLY"),
    }
    os.environ["WRITTEN_BY"] = os.environ["PROBE_NAME"]
    os.environ.pop("PROCESS_ONLY", None)
    if "during" in event:
        event["during"]()
    if "inner" in event:
        seen["inner"] = event["inner"]()
    seen["after_inner"] = os.environ.get("PROBE_NAME")
    seen["written"] = os.environ.get("WRITTEN_BY")
    seen["process_only_after_pop"] = os.environ.get("PROCESS_ONLY")
    return seen
"""


def probe(name: str, variables: dict[str, str]) -> LocalFunction:
    """A function whose handler reports what it sees of os.environ (its package is called ``name``)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"{name}/__init__.py", "")
        zipped.writestr(f"{name}/app.py", PROBE)
    return LocalFunction.from_archive(
        name,
        f"arn:aws:lambda:us-east-1:1:function:{name}",
        f"{name}.app.handler",
        archive.getvalue(),
        environment=variables,
    )


def without_pytest_marker(environment: dict[str, str]) -> dict[str, str]:
    """pytest itself rewrites PYTEST_CURRENT_TEST between a test's phases."""
    return {k: v for k, v in environment.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture
def process_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The process environment before the test; the test fails unless it is exactly the same afterwards."""
    monkeypatch.setenv("PROCESS_ONLY", "p")
    original = os.environ
    before = without_pytest_marker(dict(os.environ))
    yield before
    assert os.environ is original, "the original os.environ is back in place"
    assert without_pytest_marker(dict(os.environ)) == before


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every few microseconds, so a reader lands inside any window an invocation leaves open."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_another_thread_never_sees_an_invocations_variables_nor_a_missing_key(process_environment: dict[str, str]):
    function = probe("alpha", {"PROBE_NAME": "alpha", "ONLY_A": "1"})
    stop = threading.Event()
    reads = [0]
    differences: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                snapshot = without_pytest_marker(dict(os.environ))  # iterates, then indexes: like getproxies()
            except KeyError as error:
                differences.append(f"missing {error}")
                continue
            if snapshot != process_environment:
                keys = snapshot.keys() | process_environment.keys()
                changed = {k for k in keys if snapshot.get(k) != process_environment.get(k)}
                differences.append(f"saw {sorted(changed)}")
            reads[0] += 1

    def while_the_reader_reads(count: int = 20) -> Callable[[], None]:
        def wait() -> None:
            target, deadline = reads[0] + count, time.monotonic() + 5
            while reads[0] < target and time.monotonic() < deadline:
                time.sleep(0)

        return wait

    thread = threading.Thread(target=reader, name="environment-reader")
    thread.start()
    try:
        results = [function.invoke({"during": while_the_reader_reads()}) for _ in range(30)]
    finally:
        stop.set()
        thread.join()
    assert differences == []
    assert all(r["own"] == r["getenv"] == r["copied"] == "alpha" for r in results)
    assert reads[0] >= 30 * 20, "the reader ran while every invocation did"


def test_nested_and_sequential_invocations_each_see_their_own_variables(process_environment: dict[str, str]):
    alpha = probe("alpha", {"PROBE_NAME": "alpha", "ONLY_A": "1"})
    beta = probe("beta", {"PROBE_NAME": "beta"})
    first_beta = beta.invoke({})
    outer = alpha.invoke({"inner": lambda: beta.invoke({})})
    second_beta = beta.invoke({})

    for seen in (first_beta, outer["inner"], second_beta):
        assert (seen["own"], seen["getenv"], seen["copied"], seen["lambda_name"]) == ("beta", "beta", "beta", "beta")
        assert not seen["only_a"], "an inner invocation does not inherit its caller's variables"
        assert seen["written"] == "beta"
    assert (outer["own"], outer["lambda_name"], outer["only_a"]) == ("alpha", "alpha", True)
    assert outer["after_inner"] == "alpha", "the caller's variables are back after the inner invocation"
    assert outer["written"] == "alpha", "a handler's writes stay in its own invocation"


def test_a_handler_sees_the_process_environment_and_its_writes_and_deletions_stay_its_own(
    process_environment: dict[str, str],
):
    seen: dict[str, Any] = probe("alpha", {"PROBE_NAME": "alpha"}).invoke({})
    assert seen["process_only"] == "p", "process variables show through the function's own"
    assert seen["process_only_after_pop"] is None, "a handler can remove a variable from its own view"
    assert os.environ["PROCESS_ONLY"] == "p"
    assert "WRITTEN_BY" not in os.environ


def in_another_thread(read: Callable[[], Any]) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(read()))
    thread.start()
    thread.join()
    return result[0]


def test_an_invocations_layer_behaves_like_os_environ(process_environment: dict[str, str]):
    with installed() as environment, environment.layered({"LAYER": "l"}):
        assert os.environ is environment
        assert (os.environ["LAYER"], os.getenv("LAYER"), "LAYER" in os.environ) == ("l", "l", True)
        assert os.environ.get("PROCESS_ONLY") == "p"
        assert (os.environ.setdefault("LAYER", "x"), os.environ.setdefault("NEW", "n")) == ("l", "n")
        copied = os.environ.copy()
        assert type(copied) is dict and copied["NEW"] == "n" and copied["HOME"] == process_environment["HOME"]
        assert len(os.environ) == len(copied) == len(set(os.environ)) == len(process_environment) + 2 + 1
        assert dict(os.environ.items()) == copied and (os.environ | {"NEW": "m"})["NEW"] == "m"
        del os.environ["PROCESS_ONLY"]
        assert "PROCESS_ONLY" not in os.environ and "PROCESS_ONLY" not in list(os.environ)
        with pytest.raises(KeyError):
            del os.environ["PROCESS_ONLY"]
        os.environ["PROCESS_ONLY"] = "mine"
        assert os.environ.pop("PROCESS_ONLY") == "mine" and os.getenv("PROCESS_ONLY") is None
        with pytest.raises(TypeError):
            os.environ["NUMBER"] = 1  # type: ignore[assignment]
        elsewhere = in_another_thread(lambda: (os.getenv("LAYER"), os.getenv("NEW"), os.getenv("PROCESS_ONLY")))
        assert elsewhere == (None, None, "p"), "another thread sees the process environment only"
        assert os.environ.get("PYTEST_CURRENT_TEST") is not None, "nor does the layer hide it"


def test_outside_an_invocation_the_process_environment_is_read_and_written(process_environment: dict[str, str]):
    original = os.environ
    with installed():
        with installed():
            os.environ["WRITTEN_OUTSIDE"] = "w"
        assert os.environ is not original, "installed until the outermost installation ends"
        assert in_another_thread(lambda: os.getenv("WRITTEN_OUTSIDE")) == "w"
        del os.environ["WRITTEN_OUTSIDE"]
    assert "WRITTEN_OUTSIDE" not in original
