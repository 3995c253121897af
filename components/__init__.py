"""Pulumi ComponentResources for event-driven serverless patterns on AWS, and the shared blocks they build on."""

from components.alarm_topic import AlarmTopic, AlarmTopicArgs
from components.cqrs import CommandHandler, Cqrs, CqrsArgs, Projection, ReadModel, WriteTable
from components.fanout import FanOut, FanOutArgs, FanOutSubscriber, SubscriberOutputs
from components.function import AsyncInvokeConfig, Function, FunctionAlarms, FunctionArgs
from components.iam import Grant, grant, idempotency_grant, kms_use_grant, star_grant
from components.queue import FailureQueue, FailureQueueArgs, Queue, QueueArgs, QueueSender
from components.saga import Saga, SagaArgs, SagaHandler, SagaRetry, SagaStep, state_machine_arn_for
from components.scheduled_job import ScheduledJob, ScheduledJobArgs
from components.table import GlobalIndex, KeyAttribute, Table, TableArgs
from components.validation import ArgumentError

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
    "FanOutSubscriber",
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
