"""Every command answers a bad stack, config, YAML file or program the way ``plan`` does: ``error:`` and one line
per problem on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from serve_process import ROOT, run_localcloud

from localcloud.__main__ import main

COMMANDS = ["plan", "demo", "serve", "chaos"]
EXTRA = {"serve": ["--port", "0"], "chaos": ["--orders", "1"]}


def copy_project(destination: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "__main__.py"):
        shutil.copy(ROOT / name, destination / name)
    for folder in ("handlers", "scenarios"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def broken_stack_yaml(project: Path) -> list[str]:
    (project / "Pulumi.dev.yaml").write_text((project / "Pulumi.dev.yaml").read_text() + "  orders:broken: [\n")
    return ["error: Pulumi.dev.yaml is not valid YAML at line"]


def broken_project_yaml(project: Path) -> list[str]:
    edit(project / "Pulumi.yaml", "name:", "name: : :")
    return ["error: Pulumi.yaml is not valid YAML at line"]


def bad_config_values(project: Path) -> list[str]:
    edit(project / "Pulumi.dev.yaml", "logRetentionDays: 14", "logRetentionDays: 13")
    edit(project / "Pulumi.dev.yaml", "paymentLimit: 1000", "paymentLimit: lots")
    return [
        "error: stack 'dev' configuration: 2 invalid argument(s):",
        "  - logRetentionDays: must be one of",
        "  - paymentLimit: must be a number > 0; got 'lots'",
    ]


def failing_program(project: Path) -> list[str]:
    program = project / "__main__.py"
    lines = program.read_text().count("\n")
    program.write_text(program.read_text() + 'raise RuntimeError("the program broke")\n')
    return [f"error: the program failed: RuntimeError: the program broke (__main__.py, line {lines + 1})"]


def unknown_stack(project: Path) -> list[str]:
    return [f"error: no stack file Pulumi.nope.yaml in {project}: known stacks are dev, prod"]


PROBLEMS: dict[str, Callable[[Path], list[str]]] = {
    "stack YAML syntax": broken_stack_yaml,
    "project YAML syntax": broken_project_yaml,
    "bad config values": bad_config_values,
    "failing program": failing_program,
    "unknown stack": unknown_stack,
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_every_command_answers_a_broken_project_in_one_line_per_problem(
    command: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    project = copy_project(tmp_path)
    expected = PROBLEMS[problem](project)
    stack = "nope" if problem == "unknown stack" else "dev"
    code = main([command, "--project", str(project), "--stack", stack, *EXTRA.get(command, [])])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.out + captured.err
    said = captured.err.splitlines()
    errors = said[next(i for i, line in enumerate(said) if line.startswith("error:")) :]  # after any progress lines
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_a_real_process_prints_the_same_single_line_and_no_traceback(tmp_path: Path):
    project = copy_project(tmp_path)
    expected = broken_stack_yaml(project)
    code, stdout, stderr = run_localcloud("serve", "--port", "0", "--project", str(project), timeout=60)
    assert code == 2
    assert len(stderr) == 1 and stderr[0].startswith(expected[0])
    assert stdout == ["localcloud: deploying stack dev into the local cloud…"]
