"""Run the Pulumi program (``__main__.py``) in-process under any mocks and record what it declares.

The real program runs unchanged: Pulumi itself orders the registrations by their dependencies, and the recorder
keeps each resource's type, name, parent, inputs and the state the mocks returned.
"""

from __future__ import annotations

import contextlib
import json
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockMonitor

__all__ = [
    "ProgramRun",
    "RecordedResource",
    "project_name",
    "project_root",
    "run_declarations",
    "run_program",
    "stack_config",
]


def project_root(project: Path | str | None = None) -> Path:
    """The Pulumi project's folder (the one holding ``Pulumi.yaml``): ``project``, else the working folder, as
    the Pulumi CLI runs a program from its project's folder."""
    root = Path(project or Path.cwd()).resolve()
    if not (root / "Pulumi.yaml").is_file():
        raise FileNotFoundError(f"no Pulumi.yaml in {root}: point --project at a Pulumi project's folder")
    return root


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent_urn: str
    provider: str
    custom: bool
    inputs: dict[str, Any]
    state: dict[str, Any]


@dataclass
class ProgramRun:
    """What one evaluation of the program declared, in registration order, and its stack outputs."""

    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str, type_token: str | None = None) -> RecordedResource:
        """The one resource called ``name`` (of ``type_token``, when a component and a child share the name)."""
        matches = [r for r in self.resources if r.name == name and type_token in (None, r.type)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent_urn == parent.urn]

    def descendants(self, parent: RecordedResource) -> list[RecordedResource]:
        found: list[RecordedResource] = []
        for child in self.children(parent):
            found.append(child)
            found.extend(self.descendants(child))
        return found


class RecordingMonitor(MockMonitor):
    """A mock monitor that also records each registration's parent (the tree ``pulumi preview`` shows)."""

    def __init__(self, mocks: pulumi.runtime.Mocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            self.run.resources.append(
                RecordedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent_urn=request.parent,
                    provider=request.provider,
                    custom=bool(request.custom),
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    state=dict(registration.state),
                )
            )
        return response


def project_name(project: Path | str | None = None) -> str:
    with (project_root(project) / "Pulumi.yaml").open() as f:
        return str(yaml.safe_load(f)["name"])


def stack_config(stack: str, project: Path | str | None = None) -> dict[str, str]:
    """``Pulumi.<stack>.yaml`` as the engine passes it: ``namespace:key`` → string (structured values as JSON)."""
    root = project_root(project)
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no stack file {path.name}: known stacks are "
            f"{', '.join(sorted(p.name[7:-5] for p in root.glob('Pulumi.*.yaml')))}"
        )
    with path.open() as f:
        document = yaml.safe_load(f) or {}
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            config[key] = "[secret]"
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    return config


def run_declarations(
    mocks: pulumi.runtime.Mocks,
    declare: Callable[[], object],
    stack: str = "test",
    project: str = "serverless-orders",
    config: dict[str, str] | None = None,
) -> ProgramRun:
    """Call ``declare`` as a Pulumi program under ``mocks``; returns every registration and the stack outputs."""
    run = ProgramRun(project=project, stack=stack)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks, run))
    pulumi.runtime.set_all_config(config or {})

    @pulumi.runtime.test
    def evaluate() -> pulumi.Output[None]:
        declare()
        stack_resource = pulumi_settings.get_root_resource()
        exported: dict[str, Any] = dict(getattr(stack_resource, "outputs", {}) or {})
        return pulumi.Output.all(**exported).apply(run.outputs.update)

    evaluate()
    return run


def run_program(
    mocks: pulumi.runtime.Mocks,
    stack: str,
    config: dict[str, str],
    project: Path | str | None = None,
) -> ProgramRun:
    """Evaluate the project's ``__main__.py`` (unchanged, as ``__main__``) under ``mocks`` with ``config``, from the
    project's folder and with it first on ``sys.path``, as the Pulumi CLI runs it."""
    root = project_root(project)
    program = root / "__main__.py"
    if not program.is_file():
        raise FileNotFoundError(f"no __main__.py in {root}: the local cloud runs Python Pulumi programs")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    with contextlib.chdir(root):
        return run_declarations(
            mocks,
            lambda: runpy.run_path(str(program), run_name="__main__"),
            stack=stack,
            project=project_name(root),
            config=config,
        )
