"""The local cloud on a user's project: a started :class:`~localcloud.engine.LocalCloud` for a folder and a stack.

The local cloud ships in the same wheel, but its dependencies (moto, Powertools) come with the ``[localcloud]``
extra; without them these helpers fail with :class:`MissingExtra` naming the install command, and nothing else in
:mod:`serverless_patterns.testing` needs them.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from serverless_patterns.testing.program import find_project, project_root

if TYPE_CHECKING:
    from localcloud.engine import LocalCloud

__all__ = ["LOCALCLOUD_INSTALL", "MissingExtra", "local_cloud", "require_localcloud"]

LOCALCLOUD_INSTALL = "pip install 'serverless-patterns[localcloud]'"
# module → the distribution that provides it
_EXTRA_MODULES = {"localcloud": "serverless-patterns", "moto": "moto", "aws_lambda_powertools": "aws-lambda-powertools"}


class MissingExtra(ImportError):
    """The local cloud's dependencies (the ``[localcloud]`` extra) are not installed."""


def require_localcloud() -> None:
    """Raise :class:`MissingExtra` (one line, with the install command) unless the local cloud can run."""
    missing = [dist for module, dist in _EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtra(
            f"the local cloud needs the [localcloud] extra (missing: {', '.join(missing)}): {LOCALCLOUD_INSTALL}"
        )


@contextlib.contextmanager
def local_cloud(
    stack: str = "dev",
    project_dir: Path | str | None = None,
    *,
    start_at: datetime | None = None,
    echo_logs: bool = False,
) -> Iterator[LocalCloud]:
    """Deploy ``project_dir``'s program (default: the Pulumi project around the working folder) with the config of
    ``Pulumi.<stack>.yaml`` into an in-process AWS and yield the running :class:`~localcloud.engine.LocalCloud`;
    everything is torn down when the block ends. ``start_at`` sets the local clock (default: now)."""
    require_localcloud()
    from localcloud.clock import Clock
    from localcloud.engine import LocalCloud

    root = project_root(project_dir) if project_dir is not None else find_project()
    clock = Clock(start_at) if start_at is not None else None
    with LocalCloud.started(stack, clock=clock, echo_logs=echo_logs, project=root) as cloud:
        yield cloud
