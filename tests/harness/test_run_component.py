"""run_component: declarations under offline mocks, every registration recorded with realistic computed outputs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest
from harness_projects import ALARMS, SAMPLE_HANDLERS, SHOP

from serverless_patterns import ArgumentError, FanOut, FanOutArgs
from serverless_patterns.testing import ACCOUNT_ID, OfflineMocks, run_component, run_declarations

FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"


def fan_out(*subscribers: str, handlers_root: str | None = SAMPLE_HANDLERS) -> FanOut:
    args: FanOutArgs = {
        "alarm_topic_arn": ALARMS,
        "subscribers": [{"name": s, "handler_package": "sample", "handler": "app.handler"} for s in subscribers],
    }
    if handlers_root is not None:
        args["handlers_root"] = handlers_root
    return FanOut("events", args)


def test_every_registration_is_recorded_with_computed_identifiers():
    run = run_component(lambda: fan_out("billing", "shipping"))

    counts = run.type_counts()
    assert counts["serverless-patterns:index:FanOut"] == 1
    assert counts[FUNCTION] == 2
    assert counts[QUEUE] == 4  # a queue and a DLQ per subscriber
    assert len(run.descendants("events-billing")) == len(run.descendants("events-shipping")) > 0
    topic = run.named("events", "aws:sns/topic:Topic")
    assert topic.state["arn"] == f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:events"
    assert topic.id == topic.state["arn"]
    queue = run.named("events-billing", QUEUE)
    assert queue.state["url"] == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/events-billing"
    assert queue.state["arn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:events-billing"
    function = run.named("events-billing-consumer", FUNCTION)
    assert function.state["name"] == "project-test-events-billing-consumer"  # <project>-<stack>-<name>
    assert (
        function.state["arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:project-test-events-billing-consumer"
    )
    assert function.state["qualifiedArn"] == function.state["arn"] + ":$LATEST"


def test_computed_outputs_flow_into_the_inputs_of_dependent_resources():
    run = run_component(lambda: fan_out("billing"))

    topic_arn = run.named("events", "aws:sns/topic:Topic").state["arn"]
    subscription = run.named("events-billing-subscription")
    assert subscription.inputs["topic"] == topic_arn
    assert subscription.inputs["endpoint"] == run.named("events-billing", QUEUE).state["arn"]
    assert subscription.state["arn"].startswith(topic_arn + ":")  # <topic ARN>:<subscription id>
    mapping = run.named("events-billing-mapping")
    assert mapping.inputs["functionName"] == run.named("events-billing-consumer", FUNCTION).state["arn"]
    assert mapping.state["arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:event-source-mapping:{mapping.id}"


def test_the_tree_of_components_is_navigable():
    run = run_component(lambda: fan_out("billing"))

    fan = run.component("events")
    assert fan.type == "serverless-patterns:index:FanOut"
    assert run.parent_of(fan) is None
    children = {(r.type, r.name) for r in run.children(fan)}
    assert ("serverless-patterns:index:Queue", "events-billing") in children
    assert ("serverless-patterns:index:Function", "events-billing-consumer") in children
    below = run.descendants("events")
    assert len(below) == len(run.resources) - 1  # everything but the component itself
    role = run.named("events-billing-consumer-role")
    assert run.parent_of(role) == run.component("events-billing-consumer")
    assert run.type_counts("events-billing-consumer")[FUNCTION] == 1


def test_component_outputs_and_stack_outputs_are_recorded():
    def declare() -> None:
        events = fan_out("billing")
        pulumi.export("topic_arn", events.topic_arn)
        pulumi.export("queues", {n: s.queue_url for n, s in events.subscribers.items()})

    run = run_component(declare)

    assert run.outputs == {
        "topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:events",
        "queues": {"billing": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/events-billing"},
    }
    assert run.component("events").outputs["topic_arn"] == run.outputs["topic_arn"]
    assert run.component("events-billing").outputs["dlq_url"].endswith("/events-billing-dlq")


def test_the_region_and_the_project_shape_names_and_arns():
    run = run_component(lambda: fan_out("billing"), stack="staging", config={"aws:region": "eu-west-2"})

    function = run.named("events-billing-consumer", FUNCTION)
    assert (
        function.state["arn"]
        == f"arn:aws:lambda:eu-west-2:{ACCOUNT_ID}:function:project-staging-events-billing-consumer"
    )
    china = run_component(lambda: fan_out("billing"), config={"aws:region": "cn-north-1"})
    assert china.named("events", "aws:sns/topic:Topic").state["arn"].startswith("arn:aws-cn:sns:cn-north-1:")


def test_inside_a_project_the_default_handlers_root_is_the_projects():
    run = run_component(
        lambda: FanOut(
            "orders",
            {
                "alarm_topic_arn": ALARMS,
                "subscribers": [{"name": "audit", "handler_package": "audit", "handler": "app.handler"}],
            },
        ),
        project_dir=SHOP,
    )

    function = run.named("orders-audit-consumer", FUNCTION)
    assert function.inputs["handler"] == "audit.app.handler"
    assert function.state["name"] == "harness-shop-test-orders-audit-consumer"  # the project's name


def test_config_keys_without_a_namespace_are_the_projects():
    seen: dict[str, object] = {}

    def declare() -> None:
        config = pulumi.Config()
        seen.update(size=config.require_int("size"), tags=config.require_object("tags"), region=aws.config.region)

    run_component(declare, config={"size": 3, "tags": {"team": "a"}, "aws:region": "eu-north-1"})

    assert seen == {"size": 3, "tags": {"team": "a"}, "region": "eu-north-1"}


def test_resources_declared_inside_apply_are_waited_for():
    def declare() -> None:
        topic = aws.sns.Topic("late-parent")
        topic.arn.apply(lambda arn: aws.sqs.Queue("late", tags={"topic": arn}))

    run = run_component(declare)

    late = run.named("late", QUEUE)
    assert late.inputs["tags"] == {"topic": f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:late-parent"}


def test_an_invalid_component_fails_the_run_with_every_problem():
    with pytest.raises(ArgumentError) as raised:
        run_component(lambda: FanOut("events", {"alarm_topic_arn": ALARMS, "subscribers": []}))
    assert "subscribers must name at least one subscriber" in str(raised.value)


def test_runs_do_not_leak_into_each_other():
    first = run_component(lambda: fan_out("billing"))
    second = run_component(lambda: fan_out("shipping"))

    assert {r.name for r in first.of_type(FUNCTION)} == {"events-billing-consumer"}
    assert {r.name for r in second.of_type(FUNCTION)} == {"events-shipping-consumer"}


def test_ambiguous_names_say_so():
    run = run_component(lambda: fan_out("billing"))

    with pytest.raises(KeyError, match=r"2 resources named 'events' .*: give a type"):
        run.named("events")
    with pytest.raises(KeyError, match="0 components named 'nothing'"):
        run.descendants("nothing")


def test_any_mocks_can_be_recorded():
    class Fixed(OfflineMocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
            resource_id, state = super().new_resource(args)
            return resource_id, {**state, "fixed": True}

    run = run_declarations(Fixed(), lambda: aws.sqs.Queue("q"), project="p", stack="s")

    assert run.named("q").state["fixed"] is True
    assert (run.project, run.stack) == ("p", "s")
