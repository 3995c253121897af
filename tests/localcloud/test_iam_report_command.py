"""``python -m localcloud iam-report``: the demo's workload, the report per function role, the exit status."""

from __future__ import annotations

from pathlib import Path

from localcloud.__main__ import main


def test_the_dev_stack_report_exits_by_its_roles(capsys):
    status = main(["iam-report", "--stack", "dev"])

    out = capsys.readouterr().out
    assert "orders-place-order-role (serverless-orders-dev-orders-place-order):" in out
    assert "  exercised  dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/orders-table" in out
    assert "DENIED" not in out
    last = out.rstrip("\n").rsplit("\n", 1)[-1]
    assert status == 1
    assert last.startswith("iam-report: ") and "not least privilege: " in last
    assert "orders-place-order-role" in last and "checkout-final-role" not in last


def test_a_project_without_a_demo_scenario_is_told_so_in_one_line(tmp_path: Path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")

    assert main(["iam-report", "--project", str(tmp_path)]) == 2

    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no demo scenario (scenarios/demo.py)" in error
