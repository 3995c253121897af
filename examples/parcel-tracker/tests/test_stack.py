"""The parcel tracker under Pulumi mocks: what the dev stack declares, with the ARNs AWS would compute."""

from __future__ import annotations

import json

import pulumi

from components.tables import keyed_table
from serverless_patterns import FanOut
from serverless_patterns.testing import PulumiStack, RunComponent

ACCOUNT = "123456789012"
REGION = "eu-west-1"  # Pulumi.dev.yaml
ALARMS = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"


def test_the_dev_stack_declares_the_fan_out_the_job_and_the_alarm_topic(pulumi_stack: PulumiStack) -> None:
    run = pulumi_stack("dev")

    counts = run.type_counts()
    assert counts["serverless-patterns:index:FanOut"] == 1
    assert counts["serverless-patterns:index:ScheduledJob"] == 1
    assert counts["serverless-patterns:index:AlarmTopic"] == 1
    assert counts["aws:lambda/function:Function"] == 3  # two subscribers and the job
    topic = run.named("parcel-events", "aws:sns/topic:Topic")
    assert topic.state["arn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:parcel-events"
    assert run.outputs["parcel_events_topic_arn"] == topic.state["arn"]
    assert run.outputs["parcels_table"] == "parcels"


def test_each_subscriber_has_its_queue_filter_and_consumer(pulumi_stack: PulumiStack) -> None:
    run = pulumi_stack("dev")

    fan_out = run.component("parcel-events")
    subscriptions = {
        s.name: s.inputs for s in run.descendants(fan_out) if s.type == "aws:sns/topicSubscription:TopicSubscription"
    }
    assert set(subscriptions) == {"parcel-events-tracking-subscription", "parcel-events-notices-subscription"}
    assert "filterPolicy" not in subscriptions["parcel-events-tracking-subscription"]  # every event
    notices = subscriptions["parcel-events-notices-subscription"]
    assert json.loads(notices["filterPolicy"]) == {"event_type": ["Delivered"]}
    assert notices["endpoint"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:parcel-events-notices"
    consumer = run.named("parcel-events-tracking-consumer", "aws:lambda/function:Function")
    assert (
        consumer.state["arn"]
        == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:parcel-tracker-dev-parcel-events-tracking-consumer"
    )
    assert consumer.inputs["handler"] == "tracking.record.handler"
    assert consumer.inputs["environment"]["variables"]["PARCELS_TABLE"] == "parcels"


def test_the_job_runs_daily_with_the_stacks_staleness(pulumi_stack: PulumiStack) -> None:
    run = pulumi_stack("dev")

    schedule = run.named("stale-parcels", "aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule.state["arn"] == (
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/parcel-tracker-dev-stale-parcels/parcel-tracker-dev-stale-parcels"
    )
    job = run.named("stale-parcels-function", "aws:lambda/function:Function")
    assert job.inputs["environment"]["variables"]["STALE_AFTER_HOURS"] == "24"  # Pulumi.dev.yaml over the default
    assert run.outputs["stale_parcels_function"] == "parcel-tracker-dev-stale-parcels-function"


def test_config_overrides_reach_the_program(pulumi_stack: PulumiStack) -> None:
    run = pulumi_stack("dev", config={"staleAfterHours": 72, "alarmEmail": "night-shift@example.com"})

    job = run.named("stale-parcels-function", "aws:lambda/function:Function")
    assert job.inputs["environment"]["variables"]["STALE_AFTER_HOURS"] == "72"
    [email] = [s for s in run.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["protocol"] == "email"]
    assert email.inputs["endpoint"] == "night-shift@example.com"


def test_the_projects_own_table_helper(run_component: RunComponent) -> None:
    run = run_component(lambda: keyed_table("parcels", "parcel_id", ALARMS, deletion_protection=True))

    [table] = run.of_type("aws:dynamodb/table:Table")
    assert table.inputs["hashKey"] == "parcel_id"
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.state["arn"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/parcels"


def test_a_transform_customises_one_child_of_a_component(run_component: RunComponent) -> None:
    def longer_retention(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ == "aws:sqs/queue:Queue" and args.name == "parcel-events-tracking":
            props = {**args.props, "messageRetentionSeconds": 7 * 24 * 3600, "tags": {"team": "parcels"}}
            return pulumi.ResourceTransformResult(props=props, opts=args.opts)
        return None

    run = run_component(
        lambda: FanOut(
            "parcel-events",
            {
                "alarm_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms",
                "subscribers": [{"name": "tracking", "handler_package": "tracking", "handler": "record.handler"}],
            },
            opts=pulumi.ResourceOptions(transforms=[longer_retention]),
        )
    )

    queues = {q.name: q.inputs for q in run.of_type("aws:sqs/queue:Queue")}
    assert queues["parcel-events-tracking"]["messageRetentionSeconds"] == 7 * 24 * 3600
    assert queues["parcel-events-tracking"]["tags"] == {"team": "parcels"}
    assert queues["parcel-events-tracking-dlq"]["messageRetentionSeconds"] == 14 * 24 * 3600  # untouched
