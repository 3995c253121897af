"""Pulumi ComponentResources for event-driven serverless patterns on AWS, and the shared blocks they build on."""

from serverless_patterns.blocks.alarm_topic import AlarmTopic, AlarmTopicArgs
from serverless_patterns.blocks.function import AsyncInvokeConfig, Function, FunctionAlarms, FunctionArgs
from serverless_patterns.blocks.queue import FailureQueue, FailureQueueArgs, Queue, QueueArgs, QueueSender
from serverless_patterns.blocks.table import GlobalIndex, KeyAttribute, Table, TableArgs
from serverless_patterns.internals.iam import Grant, grant, idempotency_grant, kms_use_grant, star_grant
from serverless_patterns.internals.validation import ArgumentError
from serverless_patterns.patterns.cqrs import CommandHandler, Cqrs, CqrsArgs, Projection, ReadModel, WriteTable
from serverless_patterns.patterns.fanout import (
    FanOut,
    FanOutArgs,
    FanOutSettings,
    FanOutSubscriber,
    FanOutSubscriberSettings,
    SubscriberOutputs,
)
from serverless_patterns.patterns.saga import Saga, SagaArgs, SagaHandler, SagaRetry, SagaStep, state_machine_arn_for
from serverless_patterns.patterns.scheduled_job import ScheduledJob, ScheduledJobArgs, ScheduledJobSettings

__all__ = [
    "AlarmTopic",
    "AlarmTopicArgs",
    "ArgumentError",
    "AsyncInvokeConfig",
    "CommandHandler",
    "Cqrs",
    "CqrsArgs",
    "FailureQueue",
    "FailureQueueArgs",
    "FanOut",
    "FanOutArgs",
    "FanOutSettings",
    "FanOutSubscriber",
    "FanOutSubscriberSettings",
    "Function",
    "FunctionAlarms",
    "FunctionArgs",
    "GlobalIndex",
    "Grant",
    "KeyAttribute",
    "Projection",
    "Queue",
    "QueueArgs",
    "QueueSender",
    "ReadModel",
    "Saga",
    "SagaArgs",
    "SagaHandler",
    "SagaRetry",
    "SagaStep",
    "ScheduledJob",
    "ScheduledJobArgs",
    "ScheduledJobSettings",
    "SubscriberOutputs",
    "Table",
    "TableArgs",
    "WriteTable",
    "grant",
    "idempotency_grant",
    "kms_use_grant",
    "star_grant",
    "state_machine_arn_for",
]
