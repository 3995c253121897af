"""QueueWorker: an SQS queue, with its DLQ and alarms, drained by a Lambda function — the smallest pattern.

A pattern is a ComponentResource that composes the library's blocks. It resolves its arguments once into frozen
settings (every default and rule in one place, every problem reported in one error before anything is built),
then hands the blocks what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from serverless_patterns import Function, FunctionArgs, Queue, grant
from serverless_patterns.internals.settings import resolve, setting

__all__ = ["QueueWorker", "QueueWorkerArgs", "QueueWorkerSettings"]

VISIBILITY_FACTOR = 6  # AWS's guidance: a queue's visibility timeout is at least 6 x its consumer's timeout


class QueueWorkerArgs(TypedDict):
    """What callers pass, read by key (defaults and rules: :class:`QueueWorkerSettings`)."""

    handler_package: str
    handler: str
    alarm_topic_arn: pulumi.Input[str]
    batch_size: NotRequired[int]
    timeout_seconds: NotRequired[int]
    max_receive_count: NotRequired[int]
    handlers_root: NotRequired[str]


@dataclass(frozen=True)
class QueueWorkerSettings:
    """:class:`QueueWorkerArgs` resolved: the defaults and the rules of every argument."""

    handler_package: str = setting(doc="a folder under the handlers root")
    handler: str = setting(doc="`module.function` inside the package")
    alarm_topic_arn: pulumi.Input[str] = setting(arn=True)
    batch_size: int = setting(10, low=1, high=10, doc="messages per invocation")
    timeout_seconds: int = setting(30, low=1, high=900, doc="the function's timeout")
    max_receive_count: int = setting(5, low=1, high=1000, doc="receives before a message moves to the DLQ")
    handlers_root: str | None = setting(None, default_doc="the project's handlers/")


class QueueWorker(pulumi.ComponentResource):
    """A queue and the function that drains it. See :class:`QueueWorkerArgs`."""

    queue_url: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: QueueWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("my-patterns:index:QueueWorker", name, None, opts)
        settings = resolve(QueueWorkerSettings, args, f"QueueWorker {name!r}")  # raises before any child exists
        child = pulumi.ResourceOptions(parent=self)

        queue = Queue(
            f"{name}-queue",
            {
                "alarm_topic_arn": settings.alarm_topic_arn,
                "visibility_timeout_seconds": VISIBILITY_FACTOR * settings.timeout_seconds,
                "max_receive_count": settings.max_receive_count,
            },
            opts=child,
        )
        function_args: FunctionArgs = {
            "handler_package": settings.handler_package,
            "handler": settings.handler,
            "alarm_topic_arn": settings.alarm_topic_arn,
            "timeout_seconds": settings.timeout_seconds,
            "grants": [grant(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue.queue_arn])],
        }
        if settings.handlers_root is not None:
            function_args["handlers_root"] = settings.handlers_root
        function = Function(f"{name}-worker", function_args, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-mapping",
            event_source_arn=queue.queue_arn,
            function_name=function.function_arn,
            batch_size=settings.batch_size,
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )

        self.queue_url = queue.queue_url
        self.dlq_url = queue.dlq_url
        self.function_name = function.function_name
        self.register_outputs(
            {"queue_url": queue.queue_url, "dlq_url": queue.dlq_url, "function_name": function.function_name}
        )
