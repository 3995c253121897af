"""The chaos run: random faults, then recovery, then every invariant (small runs; BENCHMARKS.md has 1,000)."""

from __future__ import annotations

import pytest

from localcloud.faults import FAULT_KINDS
from scenarios.chaos import render_chaos, run_chaos

pytestmark = pytest.mark.xdist_group("chaos")


def test_a_run_under_heavy_faults_keeps_every_invariant():
    report = run_chaos("dev", orders=30, seed=5, fault_rate=0.3)
    assert report.violations == [], render_chaos(report)
    assert report.accepted == 30 and sum(report.statuses.values()) == 30
    injected = {kind.split(" ")[0] for kind in report.faults}
    assert injected >= set(FAULT_KINDS), f"every kind of fault was exercised: {report.faults}"
    assert report.dead_lettered > 0 and report.redriven > 0, "poison reached the DLQs and was redriven"
    assert report.retries > 0


def test_without_faults_nothing_is_dead_lettered():
    report = run_chaos("dev", orders=20, seed=2, fault_rate=0)
    assert report.violations == [], render_chaos(report)
    assert (report.dead_lettered, report.redriven, report.replayed, report.retries) == (0, 0, 0, 0)
    assert not report.faults


def test_the_same_seed_repeats_the_run():
    first, second = (run_chaos("dev", orders=10, seed=9, fault_rate=0.3) for _ in range(2))
    assert first.faults == second.faults and first.faults
    assert (first.invocations, first.retries, first.statuses) == (second.invocations, second.retries, second.statuses)


def test_the_report_names_every_figure():
    report = run_chaos("dev", orders=5, seed=1, fault_rate=0.2)
    text = render_chaos(report)
    for label in ("orders accepted", "faults injected", "invocations", "dead-lettered", "redriven", "violations"):
        assert label in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault-rate", "2"], "'2' is not a probability between 0 and 1"),
        (["--fault-rate", "often"], "'often' is not a probability between 0 and 1"),
        (["--orders", "0"], "'0' is not a positive whole number"),
        (["--seed", "x"], "invalid int value: 'x'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]):
    from localcloud.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["chaos", *argv])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and "Traceback" not in error
