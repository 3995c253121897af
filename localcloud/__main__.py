"""Command line of the local cloud: ``python -m localcloud demo|serve|plan [--stack dev]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.validation import ArgumentError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print every resource the stack declares, grouped by component")
    plan.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    demo = commands.add_parser("demo", help="drive the example application through every pattern and report")
    demo.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    served = commands.add_parser("serve", help="serve the deployed stack as AWS endpoints on 127.0.0.1")
    served.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    served.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default: 4566)")
    served.add_argument("--outputs", type=Path, default=None, help="write the stack outputs as JSON to this file")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from localcloud.serve import serve

        return serve(args.stack, args.port, args.outputs)
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
