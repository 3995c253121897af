"""Arguments resolved into settings: defaults applied, every problem named at once, types and ARNs checked."""

from __future__ import annotations

import doctest
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pytest

import serverless_patterns.internals.settings as settings_module
from serverless_patterns.internals.settings import markdown_table, resolve, setting, settings_problems
from serverless_patterns.internals.validation import ArgumentError

TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


@dataclass(frozen=True)
class Item:
    name: str = setting(doc="unique")
    size: int = setting(10, low=1, high=100)


@dataclass(frozen=True)
class Sample:
    topic_arn: pulumi.Input[str] = setting(arn=True)
    items: tuple[Item, ...] = setting(doc="at least one")
    level: str = setting("INFO", choices=("DEBUG", "INFO"))
    ratio: float = setting(0.9, low=0, high=1)
    environment: dict[str, pulumi.Input[str]] | None = setting(None)
    key_arn: pulumi.Input[str] | None = setting(None, arn=True, default_doc="AWS-owned")
    enabled: bool = setting(True)
    even: int = setting(2, check=lambda v: None if v % 2 == 0 else "must be even")


class Key(TypedDict):
    name: str
    type: NotRequired[str]


@dataclass(frozen=True)
class Keyed:
    key: Key = setting()
    keys: tuple[Key, ...] = setting(())


def problems(args: Any) -> list[str]:
    return settings_problems(Sample, args)[1]


def test_defaults_are_applied_and_lists_become_tuples():
    resolved = resolve(Sample, {"topic_arn": TOPIC, "items": [{"name": "a"}], "ratio": 1}, "Sample")
    assert resolved == Sample(TOPIC, (Item("a", 10),), "INFO", 1.0, None, None, True, 2)
    assert isinstance(resolved.ratio, float)


def test_every_problem_is_named_at_once_with_its_path():
    assert problems(
        {"topic_arn": "topic", "items": [{"name": "a", "sise": 3}, {"size": 0}], "levle": "INFO", "ratio": 2}
    ) == [
        "unknown argument 'levle' (did you mean 'level'?)",
        "topic_arn must be an ARN (arn:<partition>:<service>:...), got 'topic'",
        "unknown argument 'items[0].sise' (did you mean 'size'?)",
        "items[1].name is required",
        "items[1].size must be between 1 and 100, got 0",
        "ratio must be between 0 and 1, got 2.0",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, ["args must be a mapping of arguments, got None"]),
        (["topic_arn"], ["args must be a mapping of arguments, got a list"]),
        ({}, ["topic_arn is required", "items is required"]),
        ({"topic_arn": 5, "items": []}, ["topic_arn must be a string (or a Pulumi output), got 5"]),
        ({"topic_arn": TOPIC, "items": {"name": "a"}}, ["items must be a list, got a mapping"]),
        ({"topic_arn": TOPIC, "items": ["a"]}, ["items[0] must be a mapping of arguments, got 'a'"]),
        ({"topic_arn": TOPIC, "items": [], "enabled": "yes"}, ["enabled must be true or false, got 'yes'"]),
        ({"topic_arn": TOPIC, "items": [], "level": "TRACE"}, ["level must be one of DEBUG, INFO; got 'TRACE'"]),
        ({"topic_arn": TOPIC, "items": [], "even": 3}, ["even must be even"]),
        (
            {"topic_arn": TOPIC, "items": [], "environment": {"A": 1}},
            ["environment['A'] must be a string (or a Pulumi output), got 1"],
        ),
        (
            {"topic_arn": TOPIC, "items": [], "whatever": 1},
            [
                "unknown argument 'whatever' "
                "(known: enabled, environment, even, items, key_arn, level, ratio, topic_arn)"
            ],
        ),
    ],
)
def test_unreadable_arguments(args: Any, expected: list[str]):
    assert problems(args) == expected


def test_pulumi_outputs_are_accepted_where_inputs_are_and_checked_by_aws_later():
    output = pulumi.Output.from_input("not-an-arn-yet")
    assert problems({"topic_arn": output, "items": [], "key_arn": output}) == []


def test_resolve_raises_one_argument_error():
    with pytest.raises(ArgumentError) as caught:
        resolve(Sample, {}, "Sample 'x'")
    assert caught.value.problems == ["topic_arn is required", "items is required"]
    assert str(caught.value).startswith("Sample 'x': 2 invalid argument(s):")


def test_mutable_defaults_are_refused():
    with pytest.raises(TypeError, match="mutable defaults"):
        setting([])


def test_the_markdown_table_shows_defaults_ranges_and_choices():
    assert markdown_table(Sample).splitlines() == [
        "| argument | default | notes |",
        "| --- | --- | --- |",
        "| `topic_arn` | required |  |",
        "| `items` | required | at least one |",
        "| `level` | INFO | DEBUG, INFO |",
        "| `ratio` | 0.9 | 0\u20131 |",
        "| `environment` | none |  |",
        "| `key_arn` | AWS-owned |  |",
        "| `enabled` | true |  |",
        "| `even` | 2 |  |",
    ]


def test_the_module_example_runs():
    assert doctest.testmod(settings_module).failed == 0


def test_typed_settings_keep_values_that_break_their_rules_so_cross_field_rules_can_run():
    from serverless_patterns.internals.settings import typed_settings

    bad_rules = {"topic_arn": "topic", "items": [{"name": "a", "size": 0}], "level": "TRACE", "unknown": 1}
    assert typed_settings(Sample, bad_rules) == Sample("topic", (Item("a", 0),), "TRACE", 0.9, None, None, True, 2)
    assert typed_settings(Sample, {"topic_arn": TOPIC, "items": [{"name": 5}]}) is None  # a wrong type
    assert typed_settings(Sample, {"topic_arn": TOPIC, "items": [{}]}) is None  # a missing required key
    assert typed_settings(Sample, None) is None


@dataclass(frozen=True)
class Layered:
    layer_arns: tuple[pulumi.Input[str], ...] = setting((), arn=True)


def test_the_arn_rule_applies_to_each_item_of_a_list():
    assert settings_problems(Layered, {"layer_arns": [TOPIC, "layer", pulumi.Output.from_input("x")]})[1] == [
        "layer_arns[1] must be an ARN (arn:<partition>:<service>:...), got 'layer'"
    ]


def test_typed_dicts_are_handed_on_as_they_are_once_their_keys_are_known():
    """A TypedDict belongs to the block that receives it (which checks its values): only its keys are checked."""
    resolved = resolve(Keyed, {"key": {"name": "id", "type": "S"}, "keys": [{"name": "a"}]}, "Keyed")
    assert resolved == Keyed({"name": "id", "type": "S"}, ({"name": "a"},))
    assert settings_problems(Keyed, {"key": "id", "keys": [{"nmae": "a"}, {"name": "b", "kind": "S"}]})[1] == [
        "key must be a mapping, got 'id'",
        "unknown argument 'keys[0].nmae' (did you mean 'name'?)",
        "keys[0].name is required",
        "unknown argument 'keys[1].kind' (known: name, type)",
    ]
