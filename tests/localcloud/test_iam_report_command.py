"""``python -m localcloud iam-report``: the demo's workload, the report per function role, the exit status."""

from __future__ import annotations

from pathlib import Path

from cloud_helpers import function

from localcloud.__main__ import main


def test_the_dev_stack_report_exits_by_its_roles(capsys):
    status = main(["iam-report", "--stack", "dev"])

    out = capsys.readouterr().out
    assert "orders-place-order-role (serverless-orders-dev-orders-place-order):" in out
    assert "  exercised  dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/orders-table" in out
    assert "DENIED" not in out
    assert "UNUSED" not in out
    assert "  justified  dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:123456789012:table/idempotency: " in out
    assert out.rstrip("\n").rsplit("\n", 1)[-1] == (
        "iam-report: all 14 function roles are least privilege (nothing denied, no unjustified grant)"
    )
    assert status == 0


def test_a_denial_fails_the_report_and_names_its_role(monkeypatch, capsys):
    from localcloud.engine import LocalCloud
    from scenarios import demo

    real_run_demo = demo.run_demo

    def with_a_denied_call(stack, progress=None, project=None, inspect=None):
        def deny_then_inspect(cloud: LocalCloud) -> None:
            assert inspect is not None
            denial = cloud.iam.authorize(
                function("checkout-final"), "dynamodb", "DeleteTable", {"TableName": "orders-table"}, "us-east-1"
            )
            assert denial is not None
            inspect(cloud)

        return real_run_demo(stack, progress, project, inspect=deny_then_inspect)

    monkeypatch.setattr(demo, "run_demo", with_a_denied_call)
    status = main(["iam-report", "--stack", "dev"])

    out = capsys.readouterr().out
    assert "  DENIED     dynamodb:DeleteTable on " in out
    assert out.rstrip("\n").rsplit("\n", 1)[-1] == (
        "iam-report: 1 of 14 roles are not least privilege: checkout-final-role"
    )
    assert status == 1


def test_a_project_without_a_demo_scenario_is_told_so_in_one_line(tmp_path: Path, capsys):
    (tmp_path / "Pulumi.yaml").write_text("name: other\nruntime: python\n")

    assert main(["iam-report", "--project", str(tmp_path)]) == 2

    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no demo scenario (scenarios/demo.py)" in error
