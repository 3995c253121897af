"""Command line of the local cloud: ``python -m localcloud demo|serve|plan|chaos [--stack dev]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from components.validation import ArgumentError

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


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print every resource the stack declares, grouped by component")
    plan.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    demo = commands.add_parser("demo", help="drive the example application through every pattern and report")
    demo.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    served = commands.add_parser("serve", help="serve the deployed stack as AWS endpoints on 127.0.0.1")
    served.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    served.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default: 4566)")
    served.add_argument("--outputs", type=Path, default=None, help="write the stack outputs as JSON to this file")
    chaos = commands.add_parser("chaos", help="many orders under random faults, then recovery and every invariant")
    chaos.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    chaos.add_argument("--orders", type=_positive, default=100, help="orders to place (default: 100)")
    chaos.add_argument("--seed", type=int, default=1, help="fixes the orders and the faults (default: 1)")
    chaos.add_argument("--fault-rate", type=_rate, default=0.1, help="probability of a fault per invocation (0.1)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from localcloud.serve import serve

        return serve(args.stack, args.port, args.outputs)
    if args.command == "chaos":
        from localcloud.chaos import main as chaos_main

        return chaos_main(args.stack, args.orders, args.seed, args.fault_rate)
    if args.command == "demo":
        from localcloud.demo import main as demo_main

        return demo_main(args.stack)

    from localcloud.plan import evaluate_stack, render_plan

    try:
        run = evaluate_stack(args.stack)
    except (ArgumentError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render_plan(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
