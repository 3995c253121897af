"""The queue block under Pulumi mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_helpers import TOPIC, alarms_by_metric, statements

from serverless_patterns import ArgumentError, Queue, QueueArgs

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
SOURCE_TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def args(**overrides: Any) -> QueueArgs:
    return {"alarm_topic_arn": TOPIC, **overrides}  # type: ignore[return-value]


def queues(run) -> tuple[dict[str, Any], dict[str, Any]]:
    by_name = {q.name: q.inputs for q in run.of_type("aws:sqs/queue:Queue")}
    return by_name["jobs"], by_name["jobs-dlq"]


def test_defaults(declare):
    run = declare(lambda: Queue("jobs", args()))
    queue, dlq = queues(run)
    assert dlq["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue["messageRetentionSeconds"] == 4 * 24 * 3600
    assert queue["visibilityTimeoutSeconds"] == 30
    assert queue["sqsManagedSseEnabled"] is True and dlq["sqsManagedSseEnabled"] is True
    assert "kmsMasterKeyId" not in queue
    assert json.loads(queue["redrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:jobs-dlq",
        "maxReceiveCount": 5,
    }
    allow = json.loads(run.of_type("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")[0].inputs["redriveAllowPolicy"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:123456789012:jobs"]}


def test_both_queues_deny_plain_http_and_admit_no_sender_by_default(declare):
    run = declare(lambda: Queue("jobs", args()))
    policies = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == 2
    for resource in policies:
        [deny] = statements(resource)
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"].endswith(resource.inputs["queueUrl"].rsplit("/", 1)[1])


def test_named_senders_are_admitted_by_source_arn(declare):
    run = declare(
        lambda: Queue(
            "jobs",
            args(
                senders=[{"service": "sns.amazonaws.com", "source_arn": SOURCE_TOPIC}],
                dlq_senders=[{"service": "sns.amazonaws.com", "source_arn": SOURCE_TOPIC}],
            ),
        )
    )
    for resource in run.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        allow = [s for s in statements(resource) if s["Effect"] == "Allow"]
        assert allow == [
            {
                "Sid": "AllowSender0",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": ["sqs:SendMessage"],
                "Resource": allow[0]["Resource"],
                "Condition": {"ArnEquals": {"aws:SourceArn": SOURCE_TOPIC}},
            }
        ]


def test_customer_key_and_overrides(declare):
    run = declare(
        lambda: Queue(
            "jobs",
            args(
                kms_key_arn=KEY,
                max_receive_count=3,
                visibility_timeout_seconds=180,
                retention_seconds=3600,
                oldest_message_age_alarm_seconds=120,
            ),
        )
    )
    queue, dlq = queues(run)
    for q in (queue, dlq):
        assert q["kmsMasterKeyId"] == KEY
        assert "sqsManagedSseEnabled" not in q
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 3
    assert queue["visibilityTimeoutSeconds"] == 180
    assert queue["messageRetentionSeconds"] == 3600
    assert alarms_by_metric(run)["ApproximateAgeOfOldestMessage"].inputs["threshold"] == 120


def test_alarms(declare):
    run = declare(lambda: Queue("jobs", args()))
    alarms = alarms_by_metric(run)
    depth = alarms["ApproximateNumberOfMessagesVisible"].inputs
    assert depth["dimensions"] == {"QueueName": "jobs-dlq"}
    assert (depth["threshold"], depth["comparisonOperator"], depth["statistic"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        "Maximum",
    )
    age = alarms["ApproximateAgeOfOldestMessage"].inputs
    assert age["dimensions"] == {"QueueName": "jobs"}
    assert age["threshold"] == 900
    assert all(a.inputs["alarmActions"] == [TOPIC] for a in alarms.values())


def test_every_problem_is_reported_at_once(declare):
    bad = args(
        visibility_timeout_seconds=-1,
        max_receive_count=0,
        retention_seconds=15 * 24 * 3600,
        senders=[{"service": "example.com", "source_arn": ""}],
    )
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Queue("jobs", bad))
    assert caught.value.problems == [
        "visibility_timeout_seconds must be between 0 and 43200, got -1",
        "max_receive_count must be between 1 and 1000, got 0",
        "retention_seconds must be between 60 and 1209600, got 1296000",
        "senders[0].service must be one of sns.amazonaws.com, events.amazonaws.com, scheduler.amazonaws.com, "
        "s3.amazonaws.com; got 'example.com'",
        "senders[0].source_arn must be an ARN (arn:<partition>:<service>:...), got ''",
    ]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (None, "args must be a mapping of arguments, got None"),
        ({}, "alarm_topic_arn is required"),
        (
            {"alarm_topic_arn": TOPIC, "visibilty_timeout_seconds": 60},
            "unknown argument 'visibilty_timeout_seconds' (did you mean 'visibility_timeout_seconds'?)",
        ),
        (
            {"alarm_topic_arn": TOPIC, "senders": {"service": "sns.amazonaws.com"}},
            "senders must be a list, got a mapping",
        ),
        ({"alarm_topic_arn": TOPIC, "max_receive_count": "5"}, "max_receive_count must be an integer, got '5'"),
        ({"alarm_topic_arn": TOPIC, "max_receive_count": True}, "max_receive_count must be an integer, got True"),
        ({"alarm_topic_arn": "alarms"}, "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'"),
        (
            {"alarm_topic_arn": TOPIC, "kms_key_arn": "alias/mine"},
            "kms_key_arn must be an ARN (arn:<partition>:<service>:...), got 'alias/mine'",
        ),
    ],
)
def test_unreadable_arguments_are_named(declare, bad: Any, problem: str):
    with pytest.raises(ArgumentError) as caught:
        declare(lambda: Queue("jobs", bad))
    assert caught.value.problems == [problem]


def test_settings_hold_every_default_in_one_place():
    from serverless_patterns.blocks.queue import QueueSettings
    from serverless_patterns.internals.settings import resolve

    settings = resolve(QueueSettings, {"alarm_topic_arn": TOPIC}, "Queue 'jobs'")
    assert (settings.visibility_timeout_seconds, settings.max_receive_count, settings.retention_seconds) == (
        30,
        5,
        4 * 24 * 3600,
    )
    assert settings.senders == () and settings.kms_key_arn is None
