"""Grants and policy documents."""

from __future__ import annotations

import json

import pulumi

from serverless_patterns.internals.iam import (
    IDEMPOTENCY_UNEXERCISED,
    STAR_RESOURCE_ACTIONS,
    GrantSettings,
    grant,
    grant_problems,
    idempotency_grant,
    policy_document,
    star_grant,
    statement_problems,
    unexercised_reason,
)


def test_exact_grants_pass():
    assert grant_problems([grant(["dynamodb:GetItem", "dynamodb:PutItem"], ["arn:aws:dynamodb:::table/t"])]) == []


def test_star_resource_needs_a_listed_action_and_a_reason():
    assert grant_problems([star_grant(["xray:PutTraceSegments"], "no scope")]) == []
    assert grant_problems([{"actions": ["xray:PutTraceSegments"], "resources": ["*"]}]) == [
        "grants[0] uses Resource '*' without a reason"
    ]
    assert grant_problems([star_grant(["s3:GetObject"], "convenient")]) == [
        "grants[0]: s3:GetObject may not use Resource '*' (only actions without resource-level scope may)"
    ]


def test_wildcards_and_malformed_actions_are_refused():
    problems = grant_problems([grant(["s3:*", "dynamodb:Get*", "GetItem", "*"], ["arn:aws:s3:::b"])])
    assert problems == [
        "grants[0]: action 's3:*' is a wildcard; name each action",
        "grants[0]: action 'dynamodb:Get*' is a wildcard; name each action",
        "grants[0]: action 'GetItem' is not of the form service:Action",
        "grants[0]: action '*' is not of the form service:Action",
    ]
    assert grant_problems([{"actions": [], "resources": []}]) == [
        "grants[0] has no actions",
        "grants[0] has no resources",
    ]


def test_statement_problems_reads_policy_json_shapes():
    assert statement_problems({"Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:::q"}) == []
    assert statement_problems({"Action": ["sqs:*"], "Resource": "*"}) == [
        "action 'sqs:*' is a wildcard; name each action",
        "sqs:* on Resource '*'",
    ]
    assert statement_problems({"Action": ["dynamodb:ListStreams"], "Resource": ["*"]}) == []


def test_every_star_exception_has_a_reason():
    assert all(reason for reason in STAR_RESOURCE_ACTIONS.values())


@pulumi.runtime.test
def test_policy_document_resolves_outputs():
    arn = pulumi.Output.from_input("arn:aws:sqs:us-east-1:1:q")
    document = policy_document(
        [grant(["sqs:SendMessage", "sqs:SendMessage"], [arn]), star_grant(["xray:PutTraceSegments"], "r")]
    )

    def check(text: str) -> None:
        assert json.loads(text) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Grant0",
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": "arn:aws:sqs:us-east-1:1:q",
                },
                {"Sid": "Grant1", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
            ],
        }

    return document.apply(check)


@pulumi.runtime.test
def test_the_path_an_unexercised_grant_serves_is_in_its_sid_and_read_back():
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    document = policy_document(
        [grant(["dynamodb:PutItem"], [table]), grant(["dynamodb:GetItem"], [table], unexercised="a retry, re-read")]
    )

    def check(text: str) -> None:
        sids = [s["Sid"] for s in json.loads(text)["Statement"]]
        assert sids == ["Grant0", "Grant1BecauseARetryReRead"]
        assert [unexercised_reason(sid) for sid in sids] == [None, "a retry re read"]

    return document.apply(check)


def test_the_idempotency_grant_says_which_paths_need_its_reads_and_deletes():
    granted = idempotency_grant("arn:aws:dynamodb:us-east-1:1:table/idempotency")
    assert "dynamodb:DeleteItem" in granted["actions"] and granted.get("unexercised") == IDEMPOTENCY_UNEXERCISED
    assert grant_problems([granted]) == []


def test_unexercised_survives_settings_and_other_sids_carry_no_reason():
    settings = GrantSettings(actions=("dynamodb:GetItem",), resources=("arn",), unexercised="on a retry")
    assert settings.as_grant() == {"actions": ["dynamodb:GetItem"], "resources": ["arn"], "unexercised": "on a retry"}
    assert unexercised_reason("DenyInsecureTransport") is None
    assert unexercised_reason(None) is None
