"""Each in-process invocation's environment variables, without changing the process's environment.

Handlers read their configuration from ``os.environ``, and on AWS each function has its own. Here all functions
share one process, and other threads (Step Functions runs tasks in its own threads, the main thread keeps calling
boto3) read ``os.environ`` while an invocation runs. Swapping the process environment in and out around each
invocation showed those threads a function's variables, or a half-restored environment (botocore iterating it
failed with a KeyError). So while :func:`installed`, ``os.environ`` is a :class:`FunctionEnvironment`: a thread
running an invocation sees its function's variables over the process environment and writes to them; any other
thread sees and writes the process environment only.

Limits: a thread a handler starts sees the process environment, not the function's; the C-level environment
(``os.putenv``, what a subprocess inherits) never holds a function's variables.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

__all__ = ["FunctionEnvironment", "function_environment", "installed"]


@dataclass
class _Layer:
    """One invocation's variables: what it set, and what it removed from the process environment's view."""

    values: dict[str, str]
    removed: set[str] = field(default_factory=set)


def _checked(key: object, value: object = "") -> None:
    """Refuse what ``os.environ`` refuses: keys and values are str."""
    for item in (key, value):
        if not isinstance(item, str):
            raise TypeError(f"str expected, not {type(item).__name__}")


class FunctionEnvironment(MutableMapping[str, str]):
    """``os.environ`` as each thread should see it: its innermost invocation's layer over the process environment.

    Nested invocations on one thread (a handler invoking another function synchronously) stack layers; each sees
    only its own function's variables over the process environment, as on AWS.
    """

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process
        self._threads = threading.local()

    def _stack(self) -> list[_Layer]:
        stack: list[_Layer] | None = getattr(self._threads, "stack", None)
        if stack is None:
            stack = self._threads.stack = []
        return stack

    def _layer(self) -> _Layer | None:
        stack = self._stack()
        return stack[-1] if stack else None

    @contextlib.contextmanager
    def layered(self, variables: Mapping[str, str]) -> Iterator[None]:
        """``variables`` over the process environment, on this thread only, for the context's duration."""
        for key, value in variables.items():
            _checked(key, value)
        stack = self._stack()
        stack.append(_Layer(dict(variables)))
        try:
            yield
        finally:
            stack.pop()

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is None:
            return self.process[key]
        if key in layer.values:
            return layer.values[key]
        if key in layer.removed:
            raise KeyError(key)
        return self.process[key]

    def __setitem__(self, key: str, value: str) -> None:
        _checked(key, value)
        layer = self._layer()
        if layer is None:
            self.process[key] = value
            return
        layer.values[key] = value
        layer.removed.discard(key)

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is None:
            del self.process[key]
            return
        if key not in self:
            raise KeyError(key)
        layer.values.pop(key, None)
        layer.removed.add(key)

    def __iter__(self) -> Iterator[str]:
        layer = self._layer()
        process = list(self.process)  # a snapshot, as os.environ's own iteration takes
        if layer is None:
            return iter(process)
        hidden = layer.values.keys() | layer.removed
        return iter([*layer.values, *(k for k in process if k not in hidden)])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"environ({self.copy()!r})"

    def __or__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**self, **other}

    def __ror__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**other, **self}

    def __ior__(self, other: Mapping[str, str]) -> FunctionEnvironment:
        self.update(other)
        return self


_lock = threading.Lock()
_installs = 0
_environment: FunctionEnvironment | None = None


@contextlib.contextmanager
def installed() -> Iterator[FunctionEnvironment]:
    """``os.environ`` is a :class:`FunctionEnvironment` until the last nested ``installed`` context ends.

    One instance serves every installation over the same process environment: botocore keeps a reference to
    ``os.environ`` in each session it creates, and that reference must go on seeing later invocations' layers.
    """
    global _installs, _environment
    with _lock:
        if _installs == 0:
            if _environment is None or _environment.process is not os.environ:
                _environment = FunctionEnvironment(os.environ)
            setattr(os, "environ", _environment)  # noqa: B010 (typed as os._Environ)
        _installs += 1
        environment = _environment
    assert environment is not None
    try:
        yield environment
    finally:
        with _lock:
            _installs -= 1
            if _installs == 0:
                setattr(os, "environ", environment.process)  # noqa: B010


@contextlib.contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """This thread sees ``variables`` over the process environment for the context's duration."""
    with installed() as environment, environment.layered(variables):
        yield
