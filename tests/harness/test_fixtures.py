"""The pytest fixtures the library's plugin registers, used here as a user's tests use them."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_projects import ALARMS, REPO, SHOP

from serverless_patterns import FanOut
from serverless_patterns.testing import ACCOUNT_ID, PulumiStack, RunComponent, StartLocalCloud


def test_the_project_is_the_one_around_the_test_file(pulumi_project_dir: Path | None, pulumi_stack: PulumiStack):
    assert pulumi_project_dir == REPO  # tests/harness/ is inside the orders app's project

    run = pulumi_stack("dev")

    assert run.project == "serverless-orders"
    assert len(run.of_type("aws:lambda/function:Function")) == 14


class TestInAnotherProject:
    """Overriding ``pulumi_project_dir`` points every fixture at another project."""

    @pytest.fixture
    def pulumi_project_dir(self) -> Path:
        return SHOP

    def test_pulumi_stack(self, pulumi_stack: PulumiStack):
        run = pulumi_stack("test", config={"owner": "fixtures"})

        assert (run.project, run.outputs["owner"], run.outputs["label"]) == ("harness-shop", "fixtures", "shop")

    def test_run_component_runs_from_the_project(self, run_component: RunComponent):
        run = run_component(
            lambda: FanOut(
                "orders",
                {
                    "alarm_topic_arn": ALARMS,
                    "subscribers": [{"name": "audit", "handler_package": "audit", "handler": "app.handler"}],
                },
            )
        )

        function = run.named("orders-audit-consumer", "aws:lambda/function:Function")
        assert function.state["arn"] == (
            f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:harness-shop-test-orders-audit-consumer"
        )

    def test_local_cloud(self, local_cloud: StartLocalCloud):
        cloud = local_cloud("test")

        cloud.client("sns").publish(TopicArn=cloud.outputs["topic_arn"], Message='{"order_id": "o-1"}')
        cloud.drain()

        consumer = "harness-shop-test-orders-audit-consumer"
        [invocation] = [i for i in cloud.stats.invocations if i.function == consumer]
        assert invocation.error is None and invocation.result == {"batchItemFailures": []}
        assert [r["body"] for r in invocation.event["Records"]] == ['{"order_id": "o-1"}']
        with pytest.raises(RuntimeError, match="one local cloud per test"):
            local_cloud("test")


class TestOutsideAnyProject:
    @pytest.fixture
    def pulumi_project_dir(self) -> None:
        return None

    def test_the_fixtures_say_how_to_fix_it(self, pulumi_stack: PulumiStack, local_cloud: StartLocalCloud):
        with pytest.raises(FileNotFoundError, match="override the pulumi_project_dir fixture"):
            pulumi_stack("dev")
        with pytest.raises(FileNotFoundError, match="run the test inside a Pulumi project"):
            local_cloud("dev")

    def test_run_component_needs_no_project(self, run_component: RunComponent):
        run = run_component(
            lambda: FanOut(
                "orders",
                {
                    "alarm_topic_arn": ALARMS,
                    "handlers_root": str(SHOP / "handlers"),
                    "subscribers": [{"name": "audit", "handler_package": "audit", "handler": "app.handler"}],
                },
            )
        )

        assert run.project == "project"
        assert len(run.of_type("aws:lambda/function:Function")) == 1
