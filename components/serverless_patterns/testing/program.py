"""Run Pulumi declarations, or a whole program (``__main__.py``), in-process under mocks and record what they declare.

The real program runs unchanged: Pulumi itself orders the registrations by their dependencies, and the recorder
keeps each resource's type, name, parent, inputs, the state the mocks returned and, for components, the outputs
they registered. The recorder also runs ``ResourceOptions.transforms`` and stack transforms the way the engine
does (Pulumi's own mock monitor passes them along without running them), so per-child customisation is testable.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import runpy
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.resource import DependencyResource
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from serverless_patterns.internals.validation import ArgumentError

__all__ = [
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "RecordingMonitor",
    "StackFileError",
    "find_project",
    "namespaced_config",
    "project_name",
    "project_root",
    "run_declarations",
    "run_program",
    "stack_config",
]

_STACK_TYPE = "pulumi:pulumi:Stack"
#: Never set aside nor forgotten around a program run, even when a project's folder holds them (this library's own).
_LIBRARY_PACKAGES = frozenset({"serverless_patterns", "localcloud", "handler_runtime"})


def project_root(project: Path | str | None = None) -> Path:
    """The Pulumi project's folder (the one holding ``Pulumi.yaml``): ``project``, else the working folder, as
    the Pulumi CLI runs a program from its project's folder."""
    root = Path(project or Path.cwd()).resolve()
    if not (root / "Pulumi.yaml").is_file():
        raise FileNotFoundError(f"no Pulumi.yaml in {root}: point --project at a Pulumi project's folder")
    return root


def find_project(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working folder) that holds a ``Pulumi.yaml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no Pulumi.yaml in {here} or any folder above it")


class StackFileError(ValueError):
    """``Pulumi.yaml`` or ``Pulumi.<stack>.yaml`` cannot be read as Pulumi reads it; the message is one line."""


def _yaml_document(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; a syntax error or another shape is a :class:`StackFileError` naming where."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise StackFileError(f"{path.name} is not valid YAML{where}: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(f"{path.name} cannot be read: {error}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name} must be a YAML mapping, not a {type(document).__name__}")
    return document


class ProgramError(RuntimeError):
    """The project's program raised while it ran: the message is one line naming the error and where it came
    from in the project's files (the original exception is the cause)."""


def _program_error(error: BaseException, root: Path) -> ProgramError:
    where = ""
    if isinstance(error, SyntaxError) and error.filename:
        where = f" ({Path(error.filename).name}, line {error.lineno})"
    else:
        frames = traceback.extract_tb(error.__traceback__)
        own = [f for f in frames if Path(f.filename).resolve().is_relative_to(root) and "venv" not in f.filename]
        if own:
            where = f" ({Path(own[-1].filename).relative_to(root)}, line {own[-1].lineno})"
    text = error.msg if isinstance(error, SyntaxError) else str(error)
    message = text.splitlines()[0] if text else ""
    return ProgramError(f"the program failed: {type(error).__name__}: {message}{where}")


def _project_document(root: Path) -> dict[str, Any]:
    document = _yaml_document(root / "Pulumi.yaml")
    if not isinstance(document.get("name"), str):
        raise StackFileError(f"{root / 'Pulumi.yaml'} has no project name")
    return document


def project_name(project: Path | str | None = None) -> str:
    return str(_project_document(project_root(project))["name"])


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def namespaced_config(config: Mapping[str, Any] | None, project: str) -> dict[str, str]:
    """``config`` as the engine passes it: keys without a namespace are ``project``'s, values strings (JSON for
    anything else)."""
    return {_namespaced(key, project): _config_value(value) for key, value in (config or {}).items()}


def stack_config(
    stack: str, project: Path | str | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The stack's configuration as the engine passes it to the program: ``namespace:key`` → string (structured
    values as JSON). Project-level defaults in ``Pulumi.yaml`` come first, ``Pulumi.<stack>.yaml`` over them,
    then ``overrides`` (a key without a namespace is the project's). Secrets read as ``[secret]``."""
    root = project_root(project)
    name = str(_project_document(root)["name"])
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.name[7:-5] for p in root.glob("Pulumi.*.yaml"))) or "none"
        raise FileNotFoundError(f"no stack file {path.name} in {root}: known stacks are {known}")
    config: dict[str, str] = {}
    for key, declared in (_project_document(root).get("config") or {}).items():
        if isinstance(declared, dict):
            if "value" in declared or "default" in declared:
                config[_namespaced(key, name)] = _config_value(declared.get("value", declared.get("default")))
        else:
            config[_namespaced(key, name)] = _config_value(declared)
    document = _yaml_document(path)
    stack_settings = document.get("config") or {}
    if not isinstance(stack_settings, dict):
        raise StackFileError(f"{path.name}: `config` must be a mapping of keys to values")
    for key, value in stack_settings.items():
        secret = isinstance(value, dict) and "secure" in value
        config[_namespaced(key, name)] = "[secret]" if secret else _config_value(value)
    config.update(namespaced_config(overrides, name))
    return config


@dataclass
class RecordedResource:
    """One registration: ``inputs`` as the program (and its transforms) gave them, ``state`` as the mocks
    returned it (inputs plus computed ARNs, URLs, ids), ``outputs`` as a component registered them."""

    urn: str
    type: str
    name: str
    parent_urn: str
    provider: str
    custom: bool
    inputs: dict[str, Any]
    state: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False


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
            types = ", ".join(sorted(r.type for r in matches))
            raise KeyError(f"{len(matches)} resources named {name!r}" + (f" ({types}): give a type" if types else ""))
        return matches[0]

    def component(self, name: str, type_token: str | None = None) -> RecordedResource:
        """The one component resource called ``name``."""
        matches = [r for r in self.resources if r.name == name and not r.custom and type_token in (None, r.type)]
        if len(matches) != 1:
            types = ", ".join(sorted(r.type for r in matches))
            raise KeyError(f"{len(matches)} components named {name!r}" + (f" ({types}): give a type" if types else ""))
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(f"no resource with URN {urn!r}")

    def parent_of(self, resource: RecordedResource) -> RecordedResource | None:
        """The parent registered by the program (None for a child of the stack)."""
        return next((r for r in self.resources if r.urn == resource.parent_urn), None)

    def _resolve(self, parent: RecordedResource | str) -> RecordedResource:
        return self.component(parent) if isinstance(parent, str) else parent

    def children(self, parent: RecordedResource | str) -> list[RecordedResource]:
        """The direct children of ``parent`` (a resource, or a component's name)."""
        urn = self._resolve(parent).urn
        return [r for r in self.resources if r.parent_urn == urn]

    def descendants(self, parent: RecordedResource | str) -> list[RecordedResource]:
        """Every resource below ``parent`` (a resource, or a component's name), depth first."""
        found: list[RecordedResource] = []
        for child in self.children(parent):
            found.append(child)
            found.extend(self.descendants(child))
        return found

    def type_counts(self, parent: RecordedResource | str | None = None) -> Counter[str]:
        """How many resources of each type the program (or ``parent``'s subtree) declared."""
        resources = self.resources if parent is None else self.descendants(parent)
        return Counter(r.type for r in resources)


def _resolve_transforms(callbacks: Any) -> list[Any]:
    """The transform functions behind a registration's callback references (Pulumi's own resolver)."""
    resolve = getattr(pulumi_mocks, "_resolve_callbacks", None)
    if resolve is not None:
        return list(resolve(callbacks))
    if len(callbacks):
        raise NotImplementedError("running transforms under mocks needs a newer pulumi: pip install -U pulumi")
    return []


class RecordingMonitor(MockMonitor):
    """A mock monitor that records every registration (with its parent, the tree ``pulumi preview`` shows) and
    runs transforms as the engine does: the resource's own, then each ancestor's (nearest first), then the
    stack's. Transformed inputs reach the mocks and the record; of the options a transform returns, ``protect``,
    ``ignore_changes`` and ``retain_on_delete`` are recorded."""

    def __init__(self, mocks: pulumi.runtime.Mocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run
        self._lock = threading.Lock()
        self._records: dict[str, RecordedResource] = {}
        self._own_transforms: dict[str, list[Any]] = {}
        self._parents: dict[str, str] = {}

    def _transform_chain(self, urn: str, request: Any) -> list[Any]:
        own = _resolve_transforms(request.transforms)
        with self._lock:
            self._own_transforms[urn] = own
            self._parents[urn] = request.parent
            chain = list(own)
            current = request.parent
            while current:
                chain.extend(self._own_transforms.get(current, []))
                current = self._parents.get(current, "")
        return chain + list(getattr(self, "_stack_transforms", []))

    def _apply_transforms(self, chain: list[Any], request: Any, options: dict[str, Any]) -> None:
        props = rpc.deserialize_properties(request.object)
        opts = pulumi.ResourceOptions(
            parent=DependencyResource(request.parent) if request.parent else None,
            protect=options["protect"],
            ignore_changes=list(options["ignore_changes"]) or None,
            retain_on_delete=options["retain_on_delete"],
        )
        for transform in chain:
            args = pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name, props=props, opts=opts
            )
            result = transform(args)
            if inspect.isawaitable(result):
                result = _sync_await(result)
            if result is None:
                continue
            props = dict(result.props)
            opts = result.opts or opts
        request.object.CopyFrom(_sync_await(rpc.serialize_properties(props, {})))
        options["protect"] = bool(opts.protect)
        options["ignore_changes"] = list(opts.ignore_changes or [])
        options["retain_on_delete"] = bool(opts.retain_on_delete)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        if request.type == _STACK_TYPE:
            return super().RegisterResource(request)
        _ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        options: dict[str, Any] = {
            "protect": bool(request.protect),
            "ignore_changes": list(request.ignoreChanges),
            "retain_on_delete": bool(request.retainOnDelete),
        }
        chain = self._transform_chain(urn, request)
        if chain:
            self._apply_transforms(chain, request, options)
        response = super().RegisterResource(request)
        registration = self.resources[response.urn]
        record = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent_urn=request.parent,
            provider=request.provider,
            custom=bool(request.custom),
            inputs=rpc.deserialize_properties(request.object),
            state=dict(registration.state),
            id=str(registration.id or ""),
            dependencies=list(request.dependencies),
            **options,
        )
        with self._lock:
            self._records[response.urn] = record
            self.run.resources.append(record)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (the gRPC method name)
        _ensure_event_loop()
        outputs = rpc.deserialize_properties(request.outputs)
        with self._lock:
            record = self._records.get(request.urn)
            if record is not None:
                record.outputs = dict(outputs)
        return super().RegisterResourceOutputs(request)


def run_declarations(
    mocks: pulumi.runtime.Mocks,
    declare: Callable[[], object],
    stack: str = "test",
    project: str = "project",
    config: Mapping[str, str] | None = None,
) -> ProgramRun:
    """Call ``declare`` as a Pulumi program under ``mocks`` and wait for every registration (resources declared
    inside ``apply`` callbacks included); returns what was registered and the stack outputs. ``config`` maps
    ``namespace:key`` to strings, as :func:`stack_config` returns it. An error in the program is raised here."""
    run = ProgramRun(project=project, stack=stack)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks, run))
    pulumi.runtime.set_all_config(dict(config or {}))

    @pulumi.runtime.test
    def evaluate() -> pulumi.Output[None]:
        declare()
        stack_resource = pulumi_settings.get_root_resource()
        exported: dict[str, Any] = dict(getattr(stack_resource, "outputs", {}) or {})
        return pulumi.Output.all(**exported).apply(run.outputs.update)

    evaluate()
    return run


def _own_names(root: Path) -> set[str]:
    """The top-level packages and modules of the project's folder (``components``, ``stack_settings``, ...)."""
    names = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    names |= {p.stem for p in root.glob("*.py")}
    return {n for n in names if n.isidentifier() and n != "__main__"} - _LIBRARY_PACKAGES


def _located_in(module: Any, root: Path) -> bool:
    location = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or []), None)
    return location is not None and Path(location).resolve().is_relative_to(root)


@contextlib.contextmanager
def _project_imports(root: Path) -> Iterator[None]:
    """The project's folder first on ``sys.path`` while its program runs, as the Pulumi CLI has it, and the
    project's own packages imported from there: a module of the same name from elsewhere (another project's
    ``components``) is set aside for the run. Afterwards the project's modules the run imported are forgotten, so
    the next run (another stack, another project) imports afresh, as a new ``pulumi up`` process would."""
    own = _own_names(root)

    def owned(name: str) -> bool:
        return name.split(".", maxsplit=1)[0] in own

    set_aside = {n: m for n, m in sys.modules.items() if owned(n) and not _located_in(m, root)}
    for name in set_aside:
        del sys.modules[name]
    before = set(sys.modules)
    inserted = str(root) not in sys.path
    if inserted:
        sys.path.insert(0, str(root))
    try:
        yield
    finally:
        if inserted and str(root) in sys.path:
            sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            if owned(name):
                del sys.modules[name]
        sys.modules.update(set_aside)


def run_program(
    mocks: pulumi.runtime.Mocks,
    stack: str,
    config: Mapping[str, str],
    project: Path | str | None = None,
) -> ProgramRun:
    """Evaluate the project's ``__main__.py`` (unchanged, as ``__main__``) under ``mocks`` with ``config``, from the
    project's folder and with it first on ``sys.path``, as the Pulumi CLI runs it."""
    root = project_root(project)
    program = root / "__main__.py"
    if not program.is_file():
        raise FileNotFoundError(f"no __main__.py in {root}: only Python Pulumi programs can run here")
    with contextlib.chdir(root), _project_imports(root):
        try:
            return run_declarations(
                mocks,
                lambda: runpy.run_path(str(program), run_name="__main__"),
                stack=stack,
                project=project_name(root),
                config=config,
            )
        except (ArgumentError, StackFileError, ProgramError):
            raise  # already say what is wrong, in the program's own terms
        except Exception as error:
            raise _program_error(error, root) from error
