"""The pytest plugin the library registers (entry point ``pytest11``): fixtures for users' own stacks.

Each fixture works on the Pulumi project the test belongs to: the nearest folder above the test file holding a
``Pulumi.yaml`` (override the ``pulumi_project_dir`` fixture to point elsewhere).

``run_component(declare, *, stack="test", config=None, mocks=None)``
    runs ``declare`` under offline mocks from the project's folder; returns a :class:`ProgramRun`.
``pulumi_stack(stack="dev", *, config=None, mocks=None)``
    runs the project's ``__main__.py`` with ``Pulumi.<stack>.yaml`` under offline mocks; returns a ``ProgramRun``.
``local_cloud(stack="dev", *, start_at=None, echo_logs=False)``
    deploys the project's stack into the local cloud (the ``[localcloud]`` extra) and returns the started
    ``LocalCloud``; it stops when the test ends. One per test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pulumi

    from localcloud.engine import LocalCloud
    from serverless_patterns.testing import ProgramRun, PulumiStack, RunComponent, StartLocalCloud

__all__ = ["local_cloud", "pulumi_project_dir", "pulumi_stack", "run_component"]


def _no_project(request: pytest.FixtureRequest) -> str:
    return (
        f"no Pulumi.yaml in {request.path.parent} or above: run the test inside a Pulumi project or override the "
        "pulumi_project_dir fixture"
    )


@pytest.fixture
def pulumi_project_dir(request: pytest.FixtureRequest) -> Path | None:
    """The Pulumi project the test file lives in (None when there is none)."""
    from serverless_patterns.testing import find_project

    try:
        return find_project(request.path.parent)
    except FileNotFoundError:
        return None


@pytest.fixture
def run_component(pulumi_project_dir: Path | None) -> RunComponent:
    """Run declarations (e.g. ``lambda: FanOut(...)``) under offline mocks; see
    :func:`serverless_patterns.testing.run_component`."""
    from serverless_patterns import testing

    def run(
        declare: Callable[[], object],
        *,
        stack: str = "test",
        config: Mapping[str, Any] | None = None,
        mocks: pulumi.runtime.Mocks | None = None,
    ) -> ProgramRun:
        return testing.run_component(declare, project_dir=pulumi_project_dir, stack=stack, config=config, mocks=mocks)

    return run


@pytest.fixture
def pulumi_stack(pulumi_project_dir: Path | None, request: pytest.FixtureRequest) -> PulumiStack:
    """Run the project's program for a stack under offline mocks; see :func:`serverless_patterns.testing.run_stack`."""
    from serverless_patterns import testing

    def run(
        stack: str = "dev", *, config: Mapping[str, Any] | None = None, mocks: pulumi.runtime.Mocks | None = None
    ) -> ProgramRun:
        if pulumi_project_dir is None:
            raise FileNotFoundError(_no_project(request))
        return testing.run_stack(stack, pulumi_project_dir, config=config, mocks=mocks)

    return run


@pytest.fixture
def local_cloud(pulumi_project_dir: Path | None, request: pytest.FixtureRequest) -> Iterator[StartLocalCloud]:
    """Start the local cloud on the project's stack; it is torn down when the test ends."""
    from serverless_patterns import testing

    with contextlib.ExitStack() as running:
        started: list[LocalCloud] = []

        def start(stack: str = "dev", *, start_at: datetime | None = None, echo_logs: bool = False) -> LocalCloud:
            if started:
                raise RuntimeError("one local cloud per test: it replaces AWS for the whole process")
            if pulumi_project_dir is None:
                raise FileNotFoundError(_no_project(request))
            cloud = running.enter_context(
                testing.local_cloud(stack, pulumi_project_dir, start_at=start_at, echo_logs=echo_logs)
            )
            started.append(cloud)
            return cloud

        yield start
