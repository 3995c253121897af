"""The alarm topic under Pulumi mocks: CloudWatch can publish to it through its customer-managed key."""

from __future__ import annotations

import json

import pytest
from pulumi_helpers import statements

from serverless_patterns import AlarmTopic, ArgumentError


def test_key_lets_cloudwatch_encrypt_and_account_manage_it(declare):
    run = declare(lambda: AlarmTopic("alarms", {}))
    [key] = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in statements(key)}
    cloudwatch = by_sid["CloudWatchPublishesAlarms"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # AWS's documented statement for alarms publishing to an encrypted topic, verbatim: no condition (a condition
    # on this statement has been reported to silence alarm delivery).
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Resource"] == "*"
    assert "Condition" not in cloudwatch
    admin = by_sid["AccountAdministersKeyThroughIam"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert "kms:PutKeyPolicy" in admin["Action"]
    assert not [a for a in admin["Action"] if "*" in a]


def test_topic_uses_the_key_and_policy_admits_cloudwatch_over_tls_only(declare):
    run = declare(lambda: AlarmTopic("alarms", {}))
    [topic] = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/alarms-key"
    assert topic.inputs["kmsMasterKeyId"] != "alias/aws/sns"
    [policy] = run.of_type("aws:sns/topicPolicy:TopicPolicy")
    deny, allow = statements(policy)
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == ["sns:Publish"]
    assert allow["Resource"] == topic.state["arn"]
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert not run.of_type("aws:sns/topicSubscription:TopicSubscription")


def test_email_subscription_redrives_what_it_cannot_deliver(declare):
    run = declare(lambda: AlarmTopic("alarms", {"email": "oncall@example.com"}))
    [subscription] = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "oncall@example.com"
    dlq = run.named("alarms-email-dlq", "aws:sqs/queue:Queue")
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq.state["arn"]}
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    [key] = run.of_type("aws:kms/key:Key")
    assert dlq.inputs["kmsMasterKeyId"] == key.state["arn"], "under the topic's own customer key"
    sns = {s["Sid"]: s for s in statements(key)}["SnsDeliversUndeliveredAlarms"]
    assert sns["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sns["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    [queue_policy] = [p for p in run.of_type("aws:sqs/queuePolicy:QueuePolicy") if "email-dlq" in p.name]
    sender = next(s for s in statements(queue_policy) if s["Effect"] == "Allow")
    assert sender["Principal"] == {"Service": "sns.amazonaws.com"}
    assert sender["Condition"] == {
        "ArnEquals": {"aws:SourceArn": run.named("alarms", "aws:sns/topic:Topic").state["arn"]}
    }
    depth = [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name == "alarms-email-dlq-depth"]
    assert depth, "an undeliverable alarm e-mail is itself alarmed"


def test_invalid_arguments(declare):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: AlarmTopic("alarms", {"email": "not-an-email", "key_deletion_window_days": 3}))
    assert caught.value.problems == [
        "email 'not-an-email' is not an e-mail address",
        "key_deletion_window_days must be between 7 and 30, got 3",
    ]


def test_two_alarm_topics_in_one_stack_do_not_collide(declare):
    run = declare(lambda: (AlarmTopic("alarms", {}), AlarmTopic("audit-alarms", {})))
    aliases = sorted(a.inputs["name"] for a in run.of_type("aws:kms/alias:Alias"))
    assert aliases == ["alias/serverless-orders-test-alarms", "alias/serverless-orders-test-audit-alarms"]
    assert len({t.state["arn"] for t in run.of_type("aws:sns/topic:Topic")}) == 2
    assert len({k.state["arn"] for k in run.of_type("aws:kms/key:Key")}) == 2


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({"e_mail": "oncall@example.com"}, "unknown argument 'e_mail' (did you mean 'email'?)"),
        ({"email": ["oncall@example.com"]}, "email must be a string, got a list"),
        ({"key_deletion_window_days": "7"}, "key_deletion_window_days must be an integer, got '7'"),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: object, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: AlarmTopic("alarms", bad))  # type: ignore[arg-type]
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    from serverless_patterns.blocks.alarm_topic import AlarmTopicSettings
    from serverless_patterns.internals.settings import resolve

    settings = resolve(AlarmTopicSettings, {}, "AlarmTopic 'alarms'")
    assert (settings.email, settings.key_deletion_window_days) == (None, 30)
