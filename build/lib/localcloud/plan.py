"""``python -m localcloud plan``: what ``pulumi preview`` would create, without the Pulumi CLI or AWS.

The stack's program runs under :class:`~localcloud.offline_mocks.OfflineMocks` with the stack's config and every
declared resource is printed as a tree grouped by component.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from localcloud.offline_mocks import OfflineMocks
from localcloud.program import ProgramRun, RecordedResource, run_program, stack_config

__all__ = ["evaluate_stack", "render_plan"]


def evaluate_stack(stack: str, project: Path | str | None = None) -> ProgramRun:
    config = stack_config(stack, project)
    return run_program(OfflineMocks(region=config.get("aws:region", "us-east-1")), stack, config, project)


def _label(resource: RecordedResource) -> str:
    physical = resource.state.get("name") if resource.custom else None
    detail = f"  ({physical})" if isinstance(physical, str) and physical != resource.name else ""
    return f"{resource.name}  [{resource.type}]{detail}"


def render_plan(run: ProgramRun) -> str:
    """The resources as a tree under the stack, components first-class, then a count by type."""
    by_parent: dict[str, list[RecordedResource]] = {}
    for resource in run.resources:
        by_parent.setdefault(resource.parent_urn, []).append(resource)
    known = {r.urn for r in run.resources}
    for siblings in by_parent.values():
        siblings.sort(key=lambda r: (r.name, r.type))  # registration order varies between runs; names do not
    roots = sorted((r for r in run.resources if r.parent_urn not in known), key=lambda r: (r.name, r.type))
    custom = [r for r in run.resources if r.custom]
    lines = [
        f"Stack {run.project}/{run.stack}: {len(custom)} resources to create "
        f"in {sum(1 for r in run.resources if not r.custom)} components"
    ]

    def walk(items: list[RecordedResource], prefix: str) -> None:
        for index, item in enumerate(items):
            last = index == len(items) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(item)}")
            walk(by_parent.get(item.urn, []), prefix + ("   " if last else "│  "))

    walk(roots, "")
    lines.append("")
    lines.append("Resources by type:")
    for type_token, count in sorted(Counter(r.type for r in custom).items()):
        lines.append(f"  {count:4d}  {type_token}")
    if run.outputs:
        lines.append("")
        lines.append("Stack outputs:")
        for key in sorted(run.outputs):
            lines.append(f"  {key} = {run.outputs[key]}")
    return "\n".join(lines)
