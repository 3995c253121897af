"""Stack configuration: typed, validated, every bad key named at once."""

from __future__ import annotations

import pytest

from localcloud.program import stack_config
from stack_settings import KNOWN_KEYS, ConfigError, StackSettings, load_settings

P = "serverless-orders"


def config(**values: str) -> dict[str, str]:
    base = {f"{P}:owner": "team", f"{P}:costCenter": "cc-1"}
    base.update({f"{P}:{k}": v for k, v in values.items()})
    return base


def test_defaults():
    settings = load_settings(P, "dev", config())
    assert settings == StackSettings(project=P, stack="dev", region="us-east-1", owner="team", cost_center="cc-1")
    assert settings.log_retention_days == 30
    assert settings.deletion_protection is True
    assert settings.payment_limit == 1000
    assert settings.pending_order_ttl_minutes == 15
    assert settings.expire_orders_schedule == "rate(5 minutes)"
    assert settings.default_tags == {"project": P, "stack": "dev", "owner": "team", "cost-center": "cc-1"}


def test_values_are_parsed_from_pulumi_strings():
    settings = load_settings(
        P,
        "prod",
        {
            **config(
                alarmEmail="oncall@example.com",
                logRetentionDays="90",
                logLevel="WARN",
                deletionProtection="false",
                inventory='{"sku-a": 3, "sku-b": 0}',
                paymentLimit="250.5",
                pendingOrderTtlMinutes="30",
                expireOrdersSchedule="cron(0/5 * * * ? *)",
            ),
            "aws:region": "eu-west-1",
        },
    )
    assert settings.region == "eu-west-1"
    assert settings.alarm_email == "oncall@example.com"
    assert settings.log_retention_days == 90
    assert settings.log_level == "WARN"
    assert settings.deletion_protection is False
    assert settings.inventory == {"sku-a": 3, "sku-b": 0}
    assert settings.payment_limit == 250.5
    assert settings.pending_order_ttl_minutes == 30
    assert settings.expire_orders_schedule == "cron(0/5 * * * ? *)"


def test_every_bad_key_is_named_in_one_error():
    bad = {
        f"{P}:costCenter": "",
        f"{P}:alarmEmail": "oncall-at-example",
        f"{P}:logRetentionDays": "45",
        f"{P}:logLevel": "LOUD",
        f"{P}:deletionProtection": "maybe",
        f"{P}:inventory": '{"sku a": 1, "sku-b": -2}',
        f"{P}:paymentLimit": "-5",
        f"{P}:pendingOrderTtlMinutes": "0",
        f"{P}:expireOrdersSchedule": "every 5 minutes",
        f"{P}:tableSize": "7",
        "aws:region": "moon-1",
        "other-project:anything": "ignored",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(P, "dev", bad)
    problems = caught.value.problems
    keys = {p.split(":")[0] for p in problems}
    assert keys == {
        "alarmEmail",
        "costCenter",
        "deletionProtection",
        "expireOrdersSchedule",
        "inventory",
        "inventory.sku-b",
        "logLevel",
        "logRetentionDays",
        "paymentLimit",
        "pendingOrderTtlMinutes",
        "tableSize",
        "owner",
        "aws",
    }
    assert "owner: required" in problems
    assert any(p.startswith("tableSize: unknown key") for p in problems)
    assert "stack 'dev' configuration" in str(caught.value)


def test_negative_sizes_are_refused():
    with pytest.raises(ConfigError, match=r"inventory.sku-a: stock must be an integer >= 0; got -1"):
        load_settings(P, "dev", config(inventory='{"sku-a": -1}'))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stack_files_are_valid(stack: str):
    settings = load_settings(P, stack, stack_config(stack))
    assert settings.inventory
    assert settings.owner


def test_prod_protects_tables_and_dev_does_not():
    assert load_settings(P, "prod", stack_config("prod")).deletion_protection is True
    assert load_settings(P, "dev", stack_config("dev")).deletion_protection is False


def test_known_keys_are_documented():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [k for k in KNOWN_KEYS if f"`{k}`" not in readme]
    assert missing == []
