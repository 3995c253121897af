"""Command line of the local cloud: ``python -m localcloud demo|serve|plan|chaos [--stack dev]``."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from localcloud.program import project_root
from serverless_patterns.internals.validation import ArgumentError

__all__ = ["main"]


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


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = _Parser(add_help=False)
    common.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    common.add_argument(
        "--project", type=Path, default=None, help="the Pulumi project's folder (default: the working folder)"
    )
    commands.add_parser("plan", parents=[common], help="print every resource the stack declares, by component")
    commands.add_parser("demo", parents=[common], help="run the project's demo scenario (scenarios/demo.py)")
    served = commands.add_parser("serve", parents=[common], help="serve the deployed stack as AWS endpoints")
    served.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default: 4566)")
    served.add_argument("--outputs", type=Path, default=None, help="write the stack outputs as JSON to this file")
    chaos = commands.add_parser("chaos", parents=[common], help="run the project's chaos scenario (scenarios/chaos.py)")
    chaos.add_argument("--orders", type=_positive, default=100, help="orders to place (default: 100)")
    chaos.add_argument("--seed", type=int, default=1, help="fixes the orders and the faults (default: 1)")
    chaos.add_argument("--fault-rate", type=_rate, default=0.1, help="probability of a fault per invocation (0.1)")
    args = parser.parse_args(argv)

    try:
        if args.command == "serve":
            from localcloud.serve import serve

            return serve(args.stack, args.port, args.outputs, args.project)
        if args.command in ("demo", "chaos"):
            scenario = _scenario(args.project, args.command)
            if scenario is None:
                print(
                    f"error: the project has no {args.command} scenario (scenarios/{args.command}.py); "
                    "plan, serve and the Python API work on any project",
                    file=sys.stderr,
                )
                return 2
            if args.command == "demo":
                return int(scenario.main(args.stack, args.project))
            return int(scenario.main(args.stack, args.project, args.orders, args.seed, args.fault_rate))

        from localcloud.plan import evaluate_stack, render_plan

        run = evaluate_stack(args.stack, args.project)
    except (ArgumentError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render_plan(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
