"""Grants and policy documents."""

from __future__ import annotations

import json

import pulumi

from serverless_patterns.internals.iam import (
    STAR_RESOURCE_ACTIONS,
    grant,
    grant_problems,
    policy_document,
    star_grant,
    statement_problems,
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
