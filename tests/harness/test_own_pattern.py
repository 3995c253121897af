"""The "Add your own pattern" guide's example (docs/examples/queue_worker.py, shown whole in the guide) works
under the harness: its settings, its children, its outputs and its errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from harness_projects import ALARMS, REPO, SAMPLE_HANDLERS

from serverless_patterns import ArgumentError
from serverless_patterns.internals.settings import markdown_table
from serverless_patterns.testing import ACCOUNT_ID, run_component

EXAMPLE = REPO / "docs" / "examples" / "queue_worker.py"


@pytest.fixture(scope="module")
def queue_worker() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("queue_worker", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["queue_worker"] = module  # the settings' type hints are resolved through it
    spec.loader.exec_module(module)
    yield module
    del sys.modules["queue_worker"]


def test_the_pattern_composes_the_blocks(queue_worker: ModuleType):
    run = run_component(
        lambda: queue_worker.QueueWorker(
            "resize",
            {
                "handler_package": "sample",
                "handler": "app.handler",
                "alarm_topic_arn": ALARMS,
                "handlers_root": SAMPLE_HANDLERS,
                "timeout_seconds": 20,
            },
        )
    )

    worker = run.component("resize")
    assert worker.type == "my-patterns:index:QueueWorker"
    assert {r.type for r in run.children(worker)} == {
        "serverless-patterns:index:Queue",
        "serverless-patterns:index:Function",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
    }
    queue = run.named("resize-queue", "aws:sqs/queue:Queue")
    assert queue.inputs["visibilityTimeoutSeconds"] == 120  # 6 x the 20 s timeout
    assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 5
    mapping = run.named("resize-mapping")
    assert mapping.inputs["eventSourceArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:resize-queue"
    assert mapping.inputs["batchSize"] == 10
    assert worker.outputs["function_name"] == "project-test-resize-worker"
    assert worker.outputs["dlq_url"] == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/resize-queue-dlq"


def test_bad_arguments_are_all_named_before_anything_is_built(queue_worker: ModuleType):
    with pytest.raises(ArgumentError) as raised:
        run_component(
            lambda: queue_worker.QueueWorker(
                "resize",
                {
                    "handler_package": "sample",
                    "handler": "app.handler",
                    "alarm_topic_arn": "alarms",
                    "batch_size": 50,
                    "timout_seconds": 5,
                },
            )
        )

    assert raised.value.problems == [
        "unknown argument 'timout_seconds' (did you mean 'timeout_seconds'?)",
        "alarm_topic_arn must be an ARN (arn:<partition>:<service>:...), got 'alarms'",
        "batch_size must be between 1 and 10, got 50",
    ]


def test_its_settings_document_themselves(queue_worker: ModuleType):
    table = markdown_table(queue_worker.QueueWorkerSettings)

    assert "| `batch_size` | 10 | messages per invocation; 1\u201310 |" in table
    assert "| `handlers_root` | the project's handlers/ |  |" in table
