"""run_stack: a whole Pulumi program (``__main__.py``) with its stack's config, under offline mocks."""

from __future__ import annotations

import sys

import pytest
from harness_projects import OTHER, REPO, SHOP

from serverless_patterns.testing import ACCOUNT_ID, find_project, run_stack, stack_config

FUNCTION = "aws:lambda/function:Function"


def test_the_orders_app_runs_whole_with_its_outputs():
    run = run_stack("dev", REPO)

    assert (run.project, run.stack) == ("serverless-orders", "dev")
    assert len(run.of_type(FUNCTION)) == 14
    assert run.type_counts()["serverless-patterns:index:Saga"] == 1
    topic = run.named("order-events", "aws:sns/topic:Topic")
    assert (
        run.outputs["order_events_topic_arn"]
        == topic.state["arn"]
        == f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:order-events"
    )
    assert run.outputs["place_order_function"] == "serverless-orders-dev-orders-place-order"
    assert run.outputs["checkout_state_machine_arn"] == (
        f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:serverless-orders-dev-checkout"
    )


def test_the_stack_file_over_the_project_defaults():
    run = run_stack("test", SHOP)

    assert run.outputs["label"] == "shop"  # from the project's own components package
    assert run.outputs["owner"] == "shop-team"  # Pulumi.yaml's default
    assert run.outputs["api_key"] == "[secret]"  # secure values are not decrypted
    log_group = run.named("orders-audit-consumer-logs")
    assert log_group.inputs["retentionInDays"] == 7  # Pulumi.test.yaml over Pulumi.yaml's 14
    assert run.outputs["topic_arn"] == f"arn:aws:sns:eu-central-1:{ACCOUNT_ID}:orders"  # the stack's region


def test_overrides_over_the_stack_file():
    run = run_stack("test", SHOP, config={"retentionDays": 30, "owner": "night-shift"})

    assert run.named("orders-audit-consumer-logs").inputs["retentionInDays"] == 30
    assert run.outputs["owner"] == "night-shift"


def test_projects_with_packages_of_the_same_name_do_not_clash():
    labels = [run_stack("test", project).outputs["label"] for project in (SHOP, OTHER, SHOP)]

    assert labels == ["shop", "other", "shop"]
    assert not any(name == "components" or name.startswith("components.") for name in sys.modules)
    assert str(SHOP) not in sys.path


def test_a_package_the_test_imported_is_set_aside_for_another_projects_run():
    sys.path.insert(0, str(SHOP))
    try:
        from components.naming import label

        assert label() == "shop"
        assert run_stack("test", OTHER).outputs["label"] == "other"
        assert sys.modules["components.naming"].label() == "shop"  # back as the test had it
    finally:
        sys.path.remove(str(SHOP))
        for name in [n for n in sys.modules if n == "components" or n.startswith("components.")]:
            del sys.modules[name]


def test_the_project_is_found_above_the_working_folder(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(SHOP / "handlers" / "audit")

    assert find_project() == SHOP
    assert run_stack("test").project == "harness-shop"


def test_missing_stack_and_project_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no stack file Pulumi.prod.yaml in .*: known stacks are test"):
        stack_config("prod", SHOP)
    with pytest.raises(FileNotFoundError, match=r"no Pulumi\.yaml in"):
        run_stack("dev", tmp_path)
    with pytest.raises(FileNotFoundError, match="or any folder above it"):
        find_project(tmp_path)


def test_stack_config_as_the_engine_passes_it():
    config = stack_config("test", SHOP, {"aws:profile": "ops", "tags": {"a": 1}})

    assert config == {
        "harness-shop:retentionDays": "7",
        "harness-shop:owner": "shop-team",
        "aws:region": "eu-central-1",
        "harness-shop:apiKey": "[secret]",
        "aws:profile": "ops",
        "harness-shop:tags": '{"a": 1}',
    }
