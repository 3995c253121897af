"""Command line of the local cloud: ``python -m localcloud demo|plan|serve|chaos|iam-report [--stack dev]`` and
``clock``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from localcloud.clock_command import ClockCommandError
from localcloud.deploy import UnsupportedResource
from localcloud.persistence import StateError
from localcloud.program import ProgramError, StackFileError, project_root
from localcloud.serve import ServeError
from serverless_patterns.internals.validation import ArgumentError

__all__ = ["main"]

#: What a user can fix: answered with its message alone.
_USER_ERRORS = (
    ArgumentError,
    FileNotFoundError,
    StackFileError,
    ProgramError,
    UnsupportedResource,
    ServeError,
    ClockCommandError,
    StateError,
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability between 0 and 1")
    return value


class _Parser(argparse.ArgumentParser):
    """Bad arguments are answered in one line (not a usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _scenario(project: Path | None, name: str) -> ModuleType | None:
    """The project's ``scenarios/<name>.py`` (a demo or chaos scenario), or None when it has none."""
    root = project_root(project)
    if not (root / "scenarios" / f"{name}.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(f"scenarios.{name}")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use 1-65535, or 0 for a free port")
    return value


def _duration(text: str) -> float:
    from localcloud.clock_command import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> _Parser:
    parser = _Parser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = _Parser(add_help=False)
    common.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    common.add_argument(
        "--project", type=Path, default=None, help="the Pulumi project's folder (default: the working folder)"
    )
    commands.add_parser("plan", parents=[common], help="print every resource the stack declares, by component")
    commands.add_parser("demo", parents=[common], help="run the project's demo scenario (scenarios/demo.py)")
    commands.add_parser(
        "iam-report",
        parents=[common],
        help="run the demo scenario and report, per function role, the grants exercised, denied and unused",
    )
    served = commands.add_parser("serve", parents=[common], help="serve the deployed stack as AWS endpoints")
    served.add_argument("--port", type=_port, default=4566, help="port on 127.0.0.1, 0 for a free one (4566)")
    served.add_argument("--outputs", type=Path, default=None, help="write the stack outputs as JSON to this file")
    served.add_argument(
        "--clock",
        choices=("wall", "virtual"),
        default="wall",
        help="wall: local time follows the wall clock (default); virtual: it moves only when advanced "
        "(python -m localcloud clock advance 15m)",
    )
    served.add_argument("--logs", action="store_true", help="print every function's log lines, prefixed by it")
    served.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the local cloud in DIR across restarts (restored at start, saved every 30 s and at stop)",
    )
    served.add_argument(
        "--reload", action="store_true", help="load handler code edited on disk (the next invocation is a cold start)"
    )
    chaos = commands.add_parser("chaos", parents=[common], help="run the project's chaos scenario (scenarios/chaos.py)")
    chaos.add_argument("--orders", type=_positive, default=100, help="orders to place (default: 100)")
    chaos.add_argument("--seed", type=int, default=1, help="fixes the orders and the faults (default: 1)")
    chaos.add_argument("--fault-rate", type=_rate, default=0.1, help="probability of a fault per invocation (0.1)")
    clock = commands.add_parser("clock", help="show or advance the clock of a running serve")
    clock.add_argument(
        "--endpoint", default="http://127.0.0.1:4566", help="where serve listens (default: http://127.0.0.1:4566)"
    )
    clock_actions = clock.add_subparsers(dest="clock_action")
    clock_actions.add_parser("show", help="print the local time (the default)")
    advance = clock_actions.add_parser("advance", help="let DURATION of local time pass, event sources running")
    advance.add_argument("duration", type=_duration, help="e.g. 90s, 15m, 2h, 1d, 1h30m")
    return parser


def _iam_report(scenario: ModuleType, stack: str, project: Path | None) -> int:
    """The IAM report of the demo's workload: 0 when every function role is least privilege, else 1."""
    from localcloud.iam_report import RoleReport, iam_report, render_iam_report

    reports: list[RoleReport] = []
    print(f"Running the demo on stack {stack} to report on its roles…", file=sys.stderr)
    scenario.run_demo(stack, project=project, inspect=lambda cloud: reports.extend(iam_report(cloud)))
    print(render_iam_report(reports))
    failing = [r.role for r in reports if not r.ok]
    if failing:
        print(f"iam-report: {len(failing)} of {len(reports)} roles are not least privilege: {', '.join(failing)}")
        return 1
    print(f"iam-report: all {len(reports)} function roles are least privilege (nothing denied, no unjustified grant)")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from localcloud.serve import ServeOptions, serve

        options = ServeOptions(
            args.stack, args.port, args.outputs, args.project, args.clock, args.logs, args.reload, args.state
        )
        return serve(options)
    if args.command == "clock":
        from localcloud import clock_command

        if args.clock_action == "advance":
            print(clock_command.advance(args.duration, args.endpoint))
        else:
            print(clock_command.show(args.endpoint))
        return 0
    if args.command in ("demo", "chaos", "iam-report"):
        name = "chaos" if args.command == "chaos" else "demo"
        scenario = _scenario(args.project, name)
        if scenario is None:
            print(
                f"error: the project has no {name} scenario (scenarios/{name}.py); "
                "plan, serve and the Python API work on any project",
                file=sys.stderr,
            )
            return 2
        if args.command == "demo":
            return int(scenario.main(args.stack, args.project))
        if args.command == "iam-report":
            return _iam_report(scenario, args.stack, args.project)
        return int(scenario.main(args.stack, args.project, args.orders, args.seed, args.fault_rate))

    from localcloud.plan import evaluate_stack, render_plan

    print(render_plan(evaluate_stack(args.stack, args.project)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever stops it — a bad stack, config, YAML or program, a port in use, a local cloud
    that does not answer — is one ``error:`` line on stderr and a non-zero exit, never a traceback (set
    ``LOCALCLOUD_DEBUG=1`` to see one)."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except _USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("localcloud: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("LOCALCLOUD_DEBUG"):
            raise
        print(
            f"error: {type(error).__name__}: {error} (an unexpected failure; LOCALCLOUD_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
