"""Each invocation's handler runs on a thread of its own, so that Lambda's timeout can stop it.

The calling thread waits for the handler with the function's timeout; when it expires the handler's thread gets
:class:`HandlerTimedOut` raised into it (``PyThreadState_SetAsyncExc``), a ``BaseException``, so a handler's
``except Exception`` cannot swallow it, and the caller gets its answer on time. What the handler wrote until then
stays written, as on AWS.

Limits: an asynchronous exception is raised only when the thread next runs Python code, so a handler blocked in a
C call (``time.sleep``, a socket read) stops only when that call returns. Invocations are serialised
(:func:`invocation_slot`), so the next invocation waits for such a handler to stop before it starts; one that never
returns (a read with no timeout on a socket that never answers) blocks every later invocation. A handler that
catches the stop (a bare ``except:``) is stopped again every half second while the next invocation waits for it.

Thread-local state the invocation relies on must follow the handler into its thread: the function's name, its
environment variables and the fault machinery are re-entered there (:func:`carried_into_handler_threads` lets
other modules carry theirs). A handler invoking another function synchronously (through moto) runs that
invocation from its own thread, under the slot its caller already holds.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "INIT_SECONDS",
    "HandlerTimedOut",
    "Outcome",
    "carried_into_handler_threads",
    "invocation_slot",
    "run_in_handler_thread",
]

#: How long a function's initialisation (importing its handler module) may take, as Lambda's init phase.
INIT_SECONDS = 10.0
#: How long a stopped handler is given to unwind before its caller moves on without it.
_UNWIND_SECONDS = 0.5

_INVOKE_LOCK = threading.RLock()
_thread = threading.local()  # .handler: True on a handler's thread (its invocation chain holds the slot)
_stragglers: list[tuple[threading.Thread, _Run]] = []  # stopped handlers not ended yet (blocked in a C call)
_stragglers_lock = threading.Lock()

#: Each entry runs on the calling thread and returns what to enter on the handler's thread.
ThreadStateCapture = Callable[[], Callable[[], AbstractContextManager[Any]]]
_carried: list[ThreadStateCapture] = []


class HandlerTimedOut(BaseException):
    """Raised inside a handler's thread when its invocation's time is up."""


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False


@contextlib.contextmanager
def carried_into_handler_threads(capture: ThreadStateCapture) -> Iterator[None]:
    """While active, ``capture()`` runs on each invoking thread, and what it returns is entered on the handler's."""
    _carried.append(capture)
    try:
        yield
    finally:
        _carried.remove(capture)


@contextlib.contextmanager
def invocation_slot() -> Iterator[None]:
    """One invocation (with the invocations it makes itself) at a time, after any stopped handler has ended."""
    nested = getattr(_thread, "handler", False)
    with contextlib.nullcontext() if nested else _INVOKE_LOCK:
        _join_stragglers()
        yield


def _join_stragglers() -> None:
    """Wait for every stopped handler to end, stopping it again meanwhile (a bare ``except:`` catches a stop)."""
    with _stragglers_lock:
        waiting = [(t, run) for t, run in _stragglers if t is not threading.current_thread()]
    for thread, run in waiting:
        while thread.is_alive():
            thread.join(_UNWIND_SECONDS)
            run.stop()
    with _stragglers_lock:
        _stragglers[:] = [(t, run) for t, run in _stragglers if t.is_alive()]


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in the thread when it next runs Python code (None withdraws a pending one)."""
    raised = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), raised)


class _Run:
    """One handler's run: its outcome, and the lock that makes finishing and stopping exclusive."""

    def __init__(self) -> None:
        self.outcome = Outcome()
        self.lock = threading.Lock()
        self.begun = threading.Event()
        self.done = threading.Event()
        self.begun_at = 0.0
        self.thread_id: int | None = None

    def started(self) -> None:
        self.begun_at = time.monotonic()
        self.begun.set()

    def finish(self) -> None:
        with self.lock:
            if self.outcome.timed_out and not self.done.is_set() and self.thread_id is not None:
                _raise_in(self.thread_id, None)  # a stop that came as the handler returned: withdrawn
            self.done.set()
            self.begun.set()

    def stop(self) -> bool:
        with self.lock:
            if self.done.is_set() or self.thread_id is None:
                return False
            self.outcome.timed_out = True
            _raise_in(self.thread_id, HandlerTimedOut)
            return True

    def guarded(self, call: Callable[[Callable[[], None]], Any]) -> None:
        """Run ``call`` until it returns or is stopped; once this returns, no stop can arrive any more."""
        try:
            try:
                self.outcome.result = call(self.started)
            except HandlerTimedOut:
                pass
            except BaseException as error:  # the caller decides (SystemExit and the like included)
                self.outcome.error = error
            finally:
                self.finish()
        except HandlerTimedOut:  # the stop arrived while finishing
            self.finish()


def run_in_handler_thread(
    call: Callable[[Callable[[], None]], Any],
    *,
    name: str,
    timeout_seconds: float,
    thread_state: Callable[[], AbstractContextManager[Any]],
) -> Outcome:
    """Run ``call(started)`` on a new thread inside ``thread_state()`` and the carried state; wait for it.

    ``call`` calls ``started()`` when initialisation is done and the handler begins: from then on it has
    ``timeout_seconds``, and initialisation has :data:`INIT_SECONDS`. Returns the outcome, ``timed_out`` if it was
    stopped. Call inside :func:`invocation_slot`.
    """
    carried = [capture() for capture in _carried]
    run = _Run()

    def target() -> None:
        _thread.handler = True
        with run.lock:
            run.thread_id = threading.get_ident()
        try:
            with contextlib.ExitStack() as stack:
                for enter in carried:
                    stack.enter_context(enter())
                stack.enter_context(thread_state())
                run.guarded(call)
        except BaseException as error:  # the thread's own state could not be entered
            run.outcome.error = run.outcome.error or error
        finally:
            run.finish()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    if not run.begun.wait(INIT_SECONDS):
        stopped = run.stop()
    else:
        remaining = timeout_seconds - (time.monotonic() - run.begun_at)
        stopped = not run.done.wait(max(remaining, 0.0)) and run.stop()
    if not stopped:
        run.done.wait()
        thread.join()
        return run.outcome
    thread.join(_UNWIND_SECONDS)
    if thread.is_alive():
        with _stragglers_lock:
            _stragglers.append((thread, run))
    return run.outcome
