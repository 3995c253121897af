"""Wall-clock timings of the local cloud: deploying the dev stack, and the whole demo.

Run: ``venv/bin/python bench/localcloud_timings.py [--runs 3]`` — prints the median and range of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud.engine import LocalCloud
from localcloud.plan import evaluate_stack
from scenarios.demo import run_demo


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def deploy() -> None:
    with LocalCloud.started("dev"):
        pass


def demo() -> None:
    if not run_demo("dev").ok:
        raise SystemExit("the demo broke an invariant")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    for label, action in (
        ("plan (offline, mocks)", lambda: evaluate_stack("dev")),
        ("deploy into the local cloud", deploy),
        ("demo (deploy + every pattern)", demo),
    ):
        samples = [timed(action) for _ in range(runs)]
        print(
            f"{label:<32} median {statistics.median(samples):6.2f} s   "
            f"min {min(samples):6.2f} s   max {max(samples):6.2f} s   ({runs} runs)"
        )


if __name__ == "__main__":
    main()
