"""SNS filter-policy validation."""

from __future__ import annotations

import pytest

from serverless_patterns.internals.filter_policy import filter_policy_problems


@pytest.mark.parametrize(
    ("policy", "scope"),
    [
        ({"event_type": ["OrderPlaced"]}, "MessageAttributes"),
        ({"event_type": ["OrderConfirmed", "OrderCancelled", "OrderExpired"]}, "MessageAttributes"),
        ({"event_type": ["OrderPlaced"], "total": [{"numeric": [">=", 500]}]}, "MessageBody"),
        ({"total": [{"numeric": [">", 0, "<=", 100]}]}, "MessageAttributes"),
        ({"sku": [{"prefix": "sku-"}], "region": [{"anything-but": ["eu", "us"]}]}, "MessageAttributes"),
        ({"customer": {"tier": ["gold"]}}, "MessageBody"),
        ({"flag": [True, None, {"exists": False}]}, "MessageAttributes"),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, "MessageAttributes"),
    ],
)
def test_valid_policies(policy, scope):
    assert filter_policy_problems(policy, scope) == []


@pytest.mark.parametrize(
    ("policy", "scope", "expected"),
    [
        ([], "MessageAttributes", "filter policy: must be a non-empty JSON object"),
        ({}, "MessageAttributes", "filter policy: must be a non-empty JSON object"),
        ({"event_type": "OrderPlaced"}, "MessageAttributes", "event_type: must be a non-empty list"),
        ({"event_type": []}, "MessageAttributes", "event_type: must be a non-empty list"),
        ({"total": [{"numeric": [">=", "500"]}]}, "MessageBody", "numeric value '500' is not a number"),
        ({"total": [{"numeric": ["~", 5]}]}, "MessageBody", "numeric operator '~' is not one of"),
        ({"total": [{"numeric": ["<", 5, ">", 1]}]}, "MessageBody", "a numeric range is"),
        ({"sku": [{"starts-with": "a"}]}, "MessageAttributes", "unknown operator 'starts-with'"),
        ({"sku": [{"prefix": "a", "suffix": "b"}]}, "MessageAttributes", "exactly one key"),
        ({"sku": [["nested"]]}, "MessageAttributes", "is not a string, number, boolean, null or operator object"),
        ({"customer": {"tier": ["gold"]}}, "MessageAttributes", "nested keys need filter_policy_scope MessageBody"),
        ({"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]}, "MessageAttributes", "at most 5"),
        ({"a": list(range(13)), "b": list(range(12))}, "MessageAttributes", "at most 150 value combinations"),
        ({"$or": [{"a": ["x"]}]}, "MessageAttributes", "$or takes a list of at least two policies"),
        ({"a": ["x"]}, "Body", "filter_policy_scope must be MessageAttributes or MessageBody"),
    ],
)
def test_invalid_policies(policy, scope, expected):
    problems = filter_policy_problems(policy, scope)
    assert any(expected in p for p in problems), problems
