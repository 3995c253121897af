"""Pulumi ComponentResources for event-driven serverless patterns on AWS, and the shared blocks they build on."""

from components.alarm_topic import AlarmTopic, AlarmTopicArgs
from components.fanout import FanOut, FanOutArgs, FanOutSubscriber, SubscriberOutputs
from components.function import AsyncInvokeConfig, Function, FunctionAlarms, FunctionArgs
from components.iam import Grant, grant, idempotency_grant, kms_use_grant, star_grant
from components.queue import Queue, QueueArgs, QueueSender
from components.table import GlobalIndex, KeyAttribute, Table, TableArgs
from components.validation import ArgumentError

__all__ = [
    "AlarmTopic",
    "AlarmTopicArgs",
    "ArgumentError",
    "AsyncInvokeConfig",
    "FanOut",
    "FanOutArgs",
    "FanOutSubscriber",
    "Function",
    "FunctionAlarms",
    "FunctionArgs",
    "GlobalIndex",
    "Grant",
    "KeyAttribute",
    "Queue",
    "QueueArgs",
    "QueueSender",
    "SubscriberOutputs",
    "Table",
    "TableArgs",
    "grant",
    "idempotency_grant",
    "kms_use_grant",
    "star_grant",
]
