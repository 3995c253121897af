"""The program recorder moved into the library (:mod:`serverless_patterns.testing.program`), so that plain unit
tests need only the base install; the local cloud and its callers import it from here as before."""

from __future__ import annotations

from serverless_patterns.testing.program import (
    ProgramError,
    ProgramRun,
    RecordedResource,
    RecordingMonitor,
    StackFileError,
    find_project,
    project_name,
    project_root,
    run_declarations,
    run_program,
    stack_config,
)

__all__ = [
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "RecordingMonitor",
    "StackFileError",
    "find_project",
    "project_name",
    "project_root",
    "run_declarations",
    "run_program",
    "stack_config",
]
