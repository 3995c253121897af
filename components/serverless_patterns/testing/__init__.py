"""Test helpers for projects that use the library: run a component or a whole Pulumi program under mocks with
realistic computed outputs and assert on what it declares; start the local cloud on a project's stack.

>>> run = run_component(lambda: FanOut("events", {...}))          # doctest: +SKIP
>>> [topic] = run.of_type("aws:sns/topic:Topic")                  # doctest: +SKIP
>>> topic.state["arn"]                                            # doctest: +SKIP
'arn:aws:sns:us-east-1:123456789012:events'

The same comes as pytest fixtures (``run_component``, ``pulumi_stack``, ``local_cloud``), registered by the
library's pytest plugin: see :mod:`serverless_patterns.testing.plugin`. Everything here needs only the base
install except :func:`local_cloud`, which needs the ``[localcloud]`` extra.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pulumi

from serverless_patterns.testing.cloud import LOCALCLOUD_INSTALL, MissingExtra, local_cloud, require_localcloud
from serverless_patterns.testing.mocks import ACCOUNT_ID, OfflineMocks
from serverless_patterns.testing.program import (
    ProgramRun,
    RecordedResource,
    find_project,
    namespaced_config,
    project_name,
    project_root,
    run_declarations,
    run_program,
    stack_config,
)

if TYPE_CHECKING:
    from localcloud.engine import LocalCloud

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_REGION",
    "LOCALCLOUD_INSTALL",
    "MissingExtra",
    "OfflineMocks",
    "ProgramRun",
    "PulumiStack",
    "RecordedResource",
    "RunComponent",
    "StartLocalCloud",
    "find_project",
    "local_cloud",
    "namespaced_config",
    "require_localcloud",
    "run_component",
    "run_declarations",
    "run_program",
    "run_stack",
    "stack_config",
]

DEFAULT_REGION = "us-east-1"


def run_component(
    declare: Callable[[], object],
    *,
    project_dir: Path | str | None = None,
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> ProgramRun:
    """Run ``declare`` (e.g. ``lambda: FanOut("events", {...})``) as a Pulumi program under
    :class:`OfflineMocks` and return every registration and the stack outputs.

    With ``project_dir`` it runs from that Pulumi project's folder, as ``pulumi up`` would (so a component's
    default handlers root is the project's ``handlers/``), under the project's name; otherwise the project is
    called ``project``. ``config`` keys without a namespace are the project's; ``aws:region`` picks the region of
    the computed ARNs (default us-east-1).
    """
    folder = project_root(project_dir) if project_dir is not None else None
    project = project_name(folder) if folder is not None else "project"
    settings = {"aws:region": DEFAULT_REGION, **namespaced_config(config, project)}
    with contextlib.chdir(folder) if folder is not None else contextlib.nullcontext():
        return run_declarations(
            mocks or OfflineMocks(region=settings["aws:region"]), declare, stack=stack, project=project, config=settings
        )


def run_stack(
    stack: str = "dev",
    project_dir: Path | str | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> ProgramRun:
    """Run the project's ``__main__.py`` with the config of ``Pulumi.<stack>.yaml`` (and ``config`` over it)
    under :class:`OfflineMocks` in the stack's region; returns every registration and the stack outputs.
    ``project_dir`` defaults to the Pulumi project around the working folder."""
    root = project_root(project_dir) if project_dir is not None else find_project()
    settings = stack_config(stack, root, config)
    return run_program(mocks or OfflineMocks(region=settings.get("aws:region", DEFAULT_REGION)), stack, settings, root)


class RunComponent(Protocol):
    """The ``run_component`` fixture: :func:`run_component` from the test's Pulumi project folder."""

    def __call__(
        self,
        declare: Callable[[], object],
        *,
        stack: str = "test",
        config: Mapping[str, Any] | None = None,
        mocks: pulumi.runtime.Mocks | None = None,
    ) -> ProgramRun: ...


class PulumiStack(Protocol):
    """The ``pulumi_stack`` fixture: :func:`run_stack` on the test's Pulumi project."""

    def __call__(
        self, stack: str = "dev", *, config: Mapping[str, Any] | None = None, mocks: pulumi.runtime.Mocks | None = None
    ) -> ProgramRun: ...


class StartLocalCloud(Protocol):
    """The ``local_cloud`` fixture: :func:`local_cloud` on the test's Pulumi project, stopped after the test."""

    def __call__(
        self, stack: str = "dev", *, start_at: datetime | None = None, echo_logs: bool = False
    ) -> LocalCloud: ...
