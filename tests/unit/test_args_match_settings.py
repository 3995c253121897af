"""Each block's TypedDict (what users write, checked by pyright) has exactly the keys of its settings class (where
defaults and rules live), and a key is required in one exactly when it is in the other."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from serverless_patterns.blocks import alarm_topic, function, queue, table
from serverless_patterns.internals import iam

PAIRS: list[tuple[Any, Any]] = [
    (function.FunctionArgs, function.FunctionSettings),
    (function.AsyncInvokeConfig, function.AsyncInvokeSettings),
    (function.FunctionAlarms, function.FunctionAlarmSettings),
    (function.FunctionVpc, function.FunctionVpcSettings),
    (iam.Grant, iam.GrantSettings),
    (table.TableArgs, table.TableSettings),
    (table.KeyAttribute, table.KeyAttributeSettings),
    (table.GlobalIndex, table.GlobalIndexSettings),
    (alarm_topic.AlarmTopicArgs, alarm_topic.AlarmTopicSettings),
    (queue.QueueArgs, queue.QueueSettings),
    (queue.FailureQueueArgs, queue.FailureQueueSettings),
    (queue.QueueSender, queue.SenderSettings),
]


@pytest.mark.parametrize(("args", "settings"), PAIRS, ids=[a.__name__ for a, _ in PAIRS])
def test_args_keys_are_the_settings_fields(args: Any, settings: Any):
    fields = dataclasses.fields(settings)
    assert list(args.__annotations__) == [f.name for f in fields]
    required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    # The annotations are postponed (forward references), so `__required_keys__` cannot see NotRequired.
    annotations = {k: getattr(a, "__forward_arg__", str(a)) for k, a in args.__annotations__.items()}
    assert {k for k, a in annotations.items() if args.__total__ and "NotRequired[" not in a} == required
