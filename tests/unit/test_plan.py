"""``python -m localcloud plan``: the stack as a tree, evaluated offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.__main__ import main

ROOT = Path(__file__).parents[2]


def test_plan_shows_the_shared_tables_and_the_alarm_topic_under_dev(capsys: pytest.CaptureFixture[str]):
    assert main(["plan", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Stack serverless-orders/dev: ")
    assert "├─ alarms  [serverless-patterns:index:AlarmTopic]" in lines
    for expected in [
        "│  ├─ alarms  [aws:sns/topic:Topic]",
        "│  ├─ alarms-key  [aws:kms/key:Key]",
        "│  └─ alarms-policy  [aws:sns/topicPolicy:TopicPolicy]",
    ]:
        assert expected in lines
    for table in ["idempotency", "inventory", "reservations", "payments", "invoices", "notifications"]:
        component = next(
            i for i, line in enumerate(lines) if line.endswith(f"─ {table}  [serverless-patterns:index:Table]")
        )
        assert lines[component + 1].endswith(f"─ {table}  [aws:dynamodb/table:Table]"), "table nested in its component"
    assert "inventory-sku-apple  [aws:dynamodb/tableItem:TableItem]" in out
    assert "     9  aws:dynamodb/table:Table" in lines  # 6 shared, the orders write model and 2 read-model tables
    assert "  alarm_topic_arn = arn:aws:sns:us-east-1:123456789012:alarms" in lines


def test_plan_is_the_same_every_time(capsys: pytest.CaptureFixture[str]):
    main(["plan"])
    first = capsys.readouterr().out
    main(["plan"])
    assert capsys.readouterr().out == first


def test_prod_plan_has_the_email_subscription(capsys: pytest.CaptureFixture[str]):
    assert main(["plan", "--stack", "prod"]) == 0
    assert "alarms-email  [aws:sns/topicSubscription:TopicSubscription]" in capsys.readouterr().out


def test_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]):
    assert main(["plan", "--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no stack file Pulumi.nope.yaml" in err
    assert "dev, prod" in err


def test_plan_runs_as_a_module_from_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "localcloud", "plan", "--stack", "dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[serverless-patterns:index:AlarmTopic]" in result.stdout
