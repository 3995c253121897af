"""The demo: every pattern exercised, its report complete, the contract's invariants asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.demo import DemoReport, render_report, run_demo

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def report() -> DemoReport:
    return run_demo("dev")


def test_every_invariant_holds(report: DemoReport):
    assert report.violations == []
    assert report.ok


def test_orders_end_as_the_scenarios_say(report: DemoReport):
    statuses = sorted((o["status"], o.get("reason")) for o in report.orders.values())
    assert statuses == [
        ("CANCELLED", "OutOfStock"),
        ("CANCELLED", "PaymentDeclined"),
        ("CONFIRMED", None),
        ("CONFIRMED", None),
        ("CONFIRMED", None),
        ("EXPIRED", None),
    ]
    refused = [s for s in report.scenarios if s.expect_status is None]
    assert refused[0].result["ok"] is False


def test_fanout_counts(report: DemoReport):
    assert report.subscribers["fulfilment"]["dead-lettered"] == 2
    assert report.subscribers["invoicing"] == {"delivered": 4, "processed": 4, "dead-lettered": 0}  # 3 + duplicate
    assert report.subscribers["notifications"]["processed"] == 7  # 6 final transitions + the duplicate
    assert report.big_orders_counted == 2


def test_saga_outcomes_and_compensation_paths(report: DemoReport):
    outcomes = sorted(str(e["output"]) for e in report.executions)
    assert outcomes == sorted(
        ["{'outcome': 'COMPLETED'}"] * 3
        + ["{'outcome': 'CANCELLED', 'reason': 'PaymentDeclined'}", "{'outcome': 'CANCELLED', 'reason': 'OutOfStock'}"]
    )
    declined = next(e for e in report.executions if e["output"].get("reason") == "PaymentDeclined")
    assert declined["path"][-3:] == ["compensate-charge-payment", "compensate-reserve-inventory", "finalize"]


def test_report_has_a_section_per_pattern(report: DemoReport):
    text = render_report(report)
    for heading in (
        "Cqrs — orders by final status",
        "FanOut — order-events subscribers",
        "Saga — checkout executions",
        "ScheduledJob — expire-orders",
        "Alarms that would fire",
        "Invariants of the contract",
    ):
        assert heading in text
    assert "order-events-fulfilment-dlq-depth" in text
    assert "all hold" in text
    assert report.expiry_runs >= 4 and report.orders_expired == 1


def test_a_broken_invariant_is_reported():
    broken = DemoReport("dev", violations=["something broke"])
    assert not broken.ok
    assert "BROKEN: something broke" in render_report(broken)


def test_the_command_prints_the_report_and_exits_by_the_invariants(report: DemoReport, monkeypatch, capsys):
    from localcloud.__main__ import main
    from scenarios import demo

    monkeypatch.setattr(demo, "run_demo", lambda stack, progress=None, project=None: report)
    assert main(["demo", "--stack", "dev"]) == 0
    assert "Invariants of the contract\n  all hold" in capsys.readouterr().out
    monkeypatch.setattr(
        demo, "run_demo", lambda stack, progress=None, project=None: DemoReport(stack, violations=["x"])
    )
    assert main(["demo"]) == 1


def test_a_project_without_a_demo_scenario_is_told_so_in_one_line(tmp_path: Path, capsys):
    from localcloud.__main__ import main

    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")
    assert main(["demo", "--project", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no demo scenario (scenarios/demo.py)" in error
    assert main(["plan", "--project", str(tmp_path / "nowhere")]) == 2
    assert "no Pulumi.yaml in" in capsys.readouterr().err
