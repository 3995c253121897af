"""The FanOut component under Pulumi mocks."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pulumi_helpers import FIXTURE_HANDLERS, TOPIC, iam_findings, statements

from serverless_patterns import ArgumentError, idempotency_grant
from serverless_patterns.internals.iam import grant_problems
from serverless_patterns.patterns.fanout import (
    FanOut,
    FanOutArgs,
    FanOutSettings,
    FanOutSubscriber,
    FanOutSubscriberSettings,
    fanout_problems,
)

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
IDEMPOTENCY_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/idempotency"


def subscriber(name: str, **overrides: Any) -> FanOutSubscriber:
    return {"name": name, "handler_package": "sample", "handler": "app.handler", **overrides}  # type: ignore[typeddict-item]


def fanout_args(*subs: FanOutSubscriber, **overrides: Any) -> FanOutArgs:
    return {"subscribers": list(subs), "alarm_topic_arn": TOPIC, "handlers_root": FIXTURE_HANDLERS, **overrides}  # type: ignore[typeddict-item]


def by_name(run, type_token: str) -> dict[str, Any]:
    return {r.name: r for r in run.of_type(type_token)}


def test_topic_defaults(declare):
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"))))
    [topic] = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == "alias/aws/sns"
    assert "fifoTopic" not in topic.inputs
    [policy] = run.of_type("aws:sns/topicPolicy:TopicPolicy")
    [deny] = statements(policy)
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    alarms = [
        a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == "AWS/SNS"
    ]
    assert alarms == [alarms[0]]
    assert alarms[0]["metricName"] == "NumberOfNotificationsFailed"
    assert alarms[0]["dimensions"] == {"TopicName": "events"}
    assert alarms[0]["alarmActions"] == [TOPIC]


def test_subscriber_defaults(declare):
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"))))
    queues = by_name(run, "aws:sqs/queue:Queue")
    assert set(queues) == {"events-a", "events-a-dlq"}
    assert queues["events-a"].inputs["visibilityTimeoutSeconds"] == 180  # 6 x 30 s
    assert json.loads(queues["events-a"].inputs["redrivePolicy"])["maxReceiveCount"] == 5
    [subscription] = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    inputs = subscription.inputs
    assert (inputs["protocol"], inputs["endpoint"], inputs["rawMessageDelivery"]) == (
        "sqs",
        "arn:aws:sqs:us-east-1:123456789012:events-a",
        True,
    )
    assert json.loads(inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:events-a-dlq"
    }
    assert "filterPolicy" not in inputs
    [mapping] = run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["eventSourceArn"] == "arn:aws:sqs:us-east-1:123456789012:events-a"
    assert mapping.inputs["functionName"].endswith(":function:serverless-orders-test-events-a-consumer")
    assert mapping.inputs["batchSize"] == 10
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 0
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "scalingConfig" not in mapping.inputs


def test_queue_policies_admit_only_this_topic(declare):
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"), subscriber("b"))))
    topic_arn = run.of_type("aws:sns/topic:Topic")[0].state["arn"]
    policies = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == 4  # queue and DLQ of each subscriber
    for policy in policies:
        [allow] = [s for s in statements(policy) if s["Effect"] == "Allow"]
        assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
        assert allow["Action"] == ["sqs:SendMessage"]
        assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}
        queue_name = policy.inputs["queueUrl"].rsplit("/", 1)[1]
        assert allow["Resource"].endswith(f":{queue_name}")


def test_consumer_grants_are_its_own_queue_only(declare):
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"), subscriber("b"))))
    policies = by_name(run, "aws:iam/rolePolicy:RolePolicy")
    for name, other in (("a", "b"), ("b", "a")):
        sqs = [s for s in statements(policies[f"events-{name}-consumer-policy"]) if s["Action"][0].startswith("sqs:")]
        assert sqs == [
            {
                "Sid": "Grant2",
                "Effect": "Allow",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                "Resource": f"arn:aws:sqs:us-east-1:123456789012:events-{name}",
            }
        ]
        assert f"events-{other}" not in json.dumps(statements(policies[f"events-{name}-consumer-policy"]))
    assert iam_findings(run)[1] == []


def test_filter_policies_and_scope(declare):
    body_filter = {"event_type": ["OrderPlaced"], "total": [{"numeric": [">=", 500]}]}
    run = declare(
        lambda: FanOut(
            "events",
            fanout_args(
                subscriber("attr", filter_policy={"event_type": ["OrderConfirmed"]}),
                subscriber("body", filter_policy=body_filter, filter_policy_scope="MessageBody"),
            ),
        )
    )
    subs = {s.name: s.inputs for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert json.loads(subs["events-attr-subscription"]["filterPolicy"]) == {"event_type": ["OrderConfirmed"]}
    assert subs["events-attr-subscription"]["filterPolicyScope"] == "MessageAttributes"
    assert json.loads(subs["events-body-subscription"]["filterPolicy"]) == body_filter
    assert subs["events-body-subscription"]["filterPolicyScope"] == "MessageBody"


def test_overrides(declare):
    run = declare(
        lambda: FanOut(
            "events",
            fanout_args(
                subscriber(
                    "a",
                    batch_size=100,
                    batching_window_seconds=5,
                    maximum_concurrency=4,
                    max_receive_count=2,
                    timeout_seconds=10,
                    visibility_timeout_seconds=120,
                    memory_mb=512,
                    reserved_concurrency=3,
                    environment={"TABLE": "t", "IDEMPOTENCY_TABLE": "idempotency"},
                    grants=[idempotency_grant(IDEMPOTENCY_ARN)],
                ),
                kms_key_arn=KEY,
                log_level="DEBUG",
                log_retention_days=7,
            ),
        )
    )
    [topic] = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == KEY
    queues = by_name(run, "aws:sqs/queue:Queue")
    assert queues["events-a"].inputs["kmsMasterKeyId"] == KEY
    assert queues["events-a"].inputs["visibilityTimeoutSeconds"] == 120
    assert json.loads(queues["events-a"].inputs["redrivePolicy"])["maxReceiveCount"] == 2
    [mapping] = run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert (mapping.inputs["batchSize"], mapping.inputs["maximumBatchingWindowInSeconds"]) == (100, 5)
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 4}
    [fn] = run.of_type("aws:lambda/function:Function")
    assert (fn.inputs["timeout"], fn.inputs["memorySize"], fn.inputs["reservedConcurrentExecutions"]) == (10, 512, 3)
    assert fn.inputs["environment"]["variables"]["TABLE"] == "t"
    assert fn.inputs["environment"]["variables"]["IDEMPOTENCY_TABLE"] == "idempotency"
    assert fn.inputs["loggingConfig"]["applicationLogLevel"] == "DEBUG"
    assert run.of_type("aws:cloudwatch/logGroup:LogGroup")[0].inputs["retentionInDays"] == 7
    grants = {tuple(s["Action"]): s["Resource"] for s in statements(run.of_type("aws:iam/rolePolicy:RolePolicy")[0])}
    assert grants[("kms:Decrypt",)] == KEY, "receiving from an SSE-KMS queue needs Decrypt only"
    assert not [actions for actions in grants if "kms:GenerateDataKey" in actions]
    assert grants[("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")] == (
        IDEMPOTENCY_ARN
    )


def test_outputs(declare):
    holder: dict[str, FanOut] = {}
    outputs: dict[str, Any] = {}

    def build() -> None:
        holder["f"] = FanOut("events", fanout_args(subscriber("a")))
        sub = holder["f"].subscribers["a"]
        import pulumi

        pulumi.Output.all(holder["f"].topic_arn, sub.queue_url, sub.dlq_url, sub.dlq_arn, sub.function_name).apply(
            lambda values: outputs.update(values=values)
        )

    declare(build)
    assert outputs["values"] == [
        "arn:aws:sns:us-east-1:123456789012:events",
        "https://sqs.us-east-1.amazonaws.com/123456789012/events-a",
        "https://sqs.us-east-1.amazonaws.com/123456789012/events-a-dlq",
        "arn:aws:sqs:us-east-1:123456789012:events-a-dlq",
        "serverless-orders-test-events-a-consumer",
    ]
    assert holder["f"].publish_grants() == [{"actions": ["sns:Publish"], "resources": [holder["f"].topic_arn]}]


def test_every_problem_is_reported_at_once(declare):
    bad = fanout_args(
        subscriber("dup", filter_policy={"event_type": "OrderPlaced"}),
        subscriber("dup", batch_size=50),
        subscriber("slow", timeout_seconds=60, visibility_timeout_seconds=300, memory_mb=1),
        subscriber("scoped", filter_policy_scope="MessageBody"),
        subscriber("Bad Name", maximum_concurrency=1, batch_sise=5),
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: FanOut("events", bad))
    assert caught.value.problems == [
        "unknown argument 'subscribers[4].batch_sise' (did you mean 'batch_size'?)",
        "subscribers[4].name must be lower-case letters, digits and '-', starting with a letter, at most 48 chars; "
        "got 'Bad Name'",
        "subscribers[4].maximum_concurrency must be between 2 and 1000, got 1",
        # the rules relating arguments still judge every subscriber whose arguments read
        "subscribers: duplicate name 'dup'",
        "subscribers[0] (dup): filter_policy: event_type: must be a non-empty list of values or operator objects",
        "subscribers[1] (dup): batch_size 50 above 10 needs batching_window_seconds > 0",
        "subscribers[2] (slow): visibility_timeout_seconds 300 is shorter than 6 x the function timeout (360s)",
        "subscribers[2] (slow): memory_mb must be between 128 and 10240, got 1",
        "subscribers[3] (scoped): filter_policy_scope without a filter_policy",
    ]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({"alarm_topic_arn": TOPIC}, "subscribers is required"),
        ({"subscribers": [], "alarm_topic_arn": TOPIC}, "subscribers must name at least one subscriber"),
        (
            {"subscribers": [subscriber("a")], "alarm_topic_arn": TOPIC, "kms_key": "k"},
            "unknown argument 'kms_key' (did you mean 'kms_key_arn'?)",
        ),
        (
            {"subscribers": subscriber("a"), "alarm_topic_arn": TOPIC},
            "subscribers must be a list, got a mapping",
        ),
        (
            {"subscribers": [{"name": "a", "handler": "app.handler"}], "alarm_topic_arn": TOPIC},
            "subscribers[0].handler_package is required",
        ),
        (
            {"subscribers": [subscriber("a", batch_size="10")], "alarm_topic_arn": TOPIC},
            "subscribers[0].batch_size must be an integer, got '10'",
        ),
        (
            {"subscribers": [subscriber("a", grants={"actions": ["sqs:SendMessage"]})], "alarm_topic_arn": TOPIC},
            "subscribers[0].grants must be a list, got a mapping",
        ),
        (
            {"subscribers": [subscriber("a")], "alarm_topic_arn": "alarms"},
            "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        ),
        (
            {"subscribers": [subscriber("a")], "alarm_topic_arn": TOPIC, "kms_key_arn": "alias/mine"},
            "kms_key_arn must be an ARN (arn:<partition>:<service>:...), got 'alias/mine'",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: FanOut("events", bad))
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    settings, problems = fanout_problems(fanout_args(subscriber("a")))
    assert problems == [] and settings is not None
    assert (settings.kms_key_arn, settings.log_level, settings.handlers_root) == (None, None, FIXTURE_HANDLERS)
    [sub] = settings.subscribers
    assert (sub.batch_size, sub.batching_window_seconds, sub.maximum_concurrency, sub.max_receive_count) == (
        10,
        0,
        None,
        5,
    )
    assert (sub.filter_policy, sub.filter_policy_scope, sub.grants, sub.environment) == (None, None, (), None)
    assert (sub.memory_mb, sub.timeout_seconds, sub.visibility_timeout_seconds) == (None, None, None)


@pytest.mark.parametrize(
    ("args_type", "settings_type"), [(FanOutArgs, FanOutSettings), (FanOutSubscriber, FanOutSubscriberSettings)]
)
def test_the_argument_types_name_exactly_the_settings(args_type: Any, settings_type: Any):
    assert set(args_type.__annotations__) == {f.name for f in dataclasses.fields(settings_type)}


def test_consumers_keep_idempotency_records_as_long_as_a_message_can_come_back(declare):
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"))))
    queues = by_name(run, "aws:sqs/queue:Queue")
    window = sum(queues[name].inputs["messageRetentionSeconds"] for name in ("events-a", "events-a-dlq"))
    assert window == 18 * 86400  # 4 days in the queue + 14 in the DLQ, then a redrive
    fn = run.named("events-a-consumer", "aws:lambda/function:Function").inputs
    assert int(fn["environment"]["variables"]["IDEMPOTENCY_EXPIRY_SECONDS"]) >= window
    shorter = fanout_args(subscriber("b", environment={"IDEMPOTENCY_EXPIRY_SECONDS": "86400"}))
    with pytest.raises(ArgumentError, match=r"IDEMPOTENCY_EXPIRY_SECONDS 86400 is shorter than the 1555200s"):
        declare(lambda: FanOut("events", shorter))


EXISTING_TOPIC = "arn:aws:sns:us-east-1:123456789012:shared-events"


def test_an_existing_topic_is_subscribed_to_instead_of_a_new_one(declare):
    holder: dict[str, FanOut] = {}
    outputs: dict[str, Any] = {}

    def build() -> None:
        import pulumi

        fanout = holder["f"] = FanOut("events", fanout_args(subscriber("a"), topic_arn=EXISTING_TOPIC))
        [publish] = fanout.publish_grants()
        pulumi.Output.all(fanout.topic_arn, fanout.topic_name, *publish["resources"]).apply(
            lambda values: outputs.update(values=values)
        )

    run = declare(build)
    assert not run.of_type("aws:sns/topic:Topic")
    assert not run.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert not [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == "AWS/SNS"]
    [subscription] = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["topic"] == EXISTING_TOPIC
    policies = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == 2
    for policy in policies:
        [allow] = [s for s in statements(policy) if s["Effect"] == "Allow"]
        assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": EXISTING_TOPIC}}
    assert outputs["values"] == [EXISTING_TOPIC, "shared-events", EXISTING_TOPIC]
    assert holder["f"].publish_grants()[0]["actions"] == ["sns:Publish"]


@pytest.mark.parametrize(
    ("topic_arn", "problem"),
    [
        ("shared-events", "topic_arn must be an ARN (arn:<partition>:<service>:...), got 'shared-events'"),
        (
            "arn:aws:sqs:us-east-1:123456789012:shared-events",
            "topic_arn must be an SNS topic's ARN, got 'arn:aws:sqs:us-east-1:123456789012:shared-events'",
        ),
        (
            "arn:aws:sns:us-east-1:123456789012:shared-events.fifo",
            "topic_arn is a FIFO topic: its subscribers must be FIFO queues, and FanOut's queues are standard",
        ),
    ],
)
def test_an_existing_topic_must_be_a_standard_sns_topic(declare, topic_arn: str, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: FanOut("events", fanout_args(subscriber("a"), topic_arn=topic_arn)))
    assert caught.value.problems == [problem]


@pytest.mark.parametrize("own_topic", [True, False])
def test_publishers_to_a_topic_with_a_customer_key_may_use_the_key(declare, own_topic: bool):
    holder: dict[str, FanOut] = {}
    topic = {} if own_topic else {"topic_arn": EXISTING_TOPIC}
    declare(lambda: holder.update(f=FanOut("events", fanout_args(subscriber("a"), kms_key_arn=KEY, **topic))))
    grants = holder["f"].publish_grants()
    # SNS encrypts each published message with a data key from the topic's key, on the publisher's behalf
    assert grants[1] == {"actions": ["kms:Decrypt", "kms:GenerateDataKey"], "resources": [KEY]}
    assert grants[0]["actions"] == ["sns:Publish"]
    assert grant_problems(grants) == []


def test_an_existing_topic_may_sit_in_any_partition(declare):
    gov_topic = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:shared-events"
    run = declare(lambda: FanOut("events", fanout_args(subscriber("a"), topic_arn=gov_topic)))
    [subscription] = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["topic"] == gov_topic
