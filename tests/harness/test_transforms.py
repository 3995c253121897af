"""Transforms (``ResourceOptions.transforms`` and stack transforms) run under the harness as the engine runs them.

Pulumi's own mock monitor passes transforms along without running them; the harness's monitor runs a resource's
own transforms, then each ancestor's (nearest first), then the stack's, and records what they produce.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest
from harness_projects import ALARMS, SAMPLE_HANDLERS

from serverless_patterns import FanOut
from serverless_patterns.testing import run_component

QUEUE = "aws:sqs/queue:Queue"


def fan_out(opts: pulumi.ResourceOptions | None = None) -> FanOut:
    return FanOut(
        "events",
        {
            "alarm_topic_arn": ALARMS,
            "handlers_root": SAMPLE_HANDLERS,
            "subscribers": [{"name": "billing", "handler_package": "sample", "handler": "app.handler"}],
        },
        opts=opts,
    )


def test_a_components_transform_changes_one_child_and_leaves_the_others():
    def longer_retention(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ == QUEUE and args.name == "events-billing":
            return pulumi.ResourceTransformResult(
                props={**args.props, "messageRetentionSeconds": 7 * 86400}, opts=args.opts
            )
        return None

    run = run_component(lambda: fan_out(pulumi.ResourceOptions(transforms=[longer_retention])))

    queue = run.named("events-billing", QUEUE)
    assert queue.inputs["messageRetentionSeconds"] == 7 * 86400
    assert queue.state["messageRetentionSeconds"] == 7 * 86400  # what the mocks (and so the outputs) saw
    assert run.named("events-billing-dlq", QUEUE).inputs["messageRetentionSeconds"] == 14 * 86400


def test_tags_added_to_every_taggable_child():
    def team_tags(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or args.type_ not in {QUEUE, "aws:sns/topic:Topic", "aws:lambda/function:Function"}:
            return None
        tags = {**(args.props.get("tags") or {}), "team": "billing"}
        return pulumi.ResourceTransformResult(props={**args.props, "tags": tags}, opts=args.opts)

    run = run_component(lambda: fan_out(pulumi.ResourceOptions(transforms=[team_tags])))

    tagged = [r for r in run.resources if r.inputs.get("tags") == {"team": "billing"}]
    assert sorted(r.type for r in tagged) == sorted(
        [QUEUE, QUEUE, "aws:sns/topic:Topic", "aws:lambda/function:Function"]
    )


def test_order_is_own_then_ancestors_nearest_first_then_the_stack():
    seen: list[str] = []

    def mark(label: str) -> Callable[[pulumi.ResourceTransformArgs], None]:
        def transform(args: pulumi.ResourceTransformArgs) -> None:
            if args.name == "child":
                seen.append(label)

        return transform

    class Outer(pulumi.ComponentResource):
        def __init__(self, opts: pulumi.ResourceOptions) -> None:
            super().__init__("test:index:Outer", "outer", None, opts)
            inner = pulumi.ComponentResource(
                "test:index:Inner", "inner", None, pulumi.ResourceOptions(parent=self, transforms=[mark("inner")])
            )
            aws.sqs.Queue("child", opts=pulumi.ResourceOptions(parent=inner, transforms=[mark("own")]))

    def declare() -> None:
        pulumi.runtime.register_resource_transform(mark("stack"))
        Outer(pulumi.ResourceOptions(transforms=[mark("outer")]))

    run_component(declare)

    assert seen == ["own", "inner", "outer", "stack"]


def test_async_transforms_and_returned_options_are_recorded():
    async def protect_tables(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != "aws:dynamodb/table:Table":
            return None
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=True, ignore_changes=["tags"]))
        return pulumi.ResourceTransformResult(props=args.props, opts=opts)

    def declare() -> None:
        pulumi.runtime.register_resource_transform(protect_tables)
        aws.dynamodb.Table("kept", hash_key="id", attributes=[{"name": "id", "type": "S"}])
        aws.sqs.Queue("plain")

    run = run_component(declare)

    kept = run.named("kept")
    assert (kept.protect, kept.ignore_changes) == (True, ["tags"])
    assert run.named("plain").protect is False


def test_a_failing_transform_fails_the_run():
    def broken(args: pulumi.ResourceTransformArgs) -> None:
        raise ValueError(f"no transform for {args.name}")

    with pytest.raises(Exception, match="no transform for events"):
        run_component(lambda: fan_out(pulumi.ResourceOptions(transforms=[broken])))
